using Stripe;

namespace Payments.Psp;

/// <summary>Canceling a payment the buyer never finished (3-D Secure abandoned), keyed <c>cancel:{payment order id}:{attempt}</c>.</summary>
public sealed partial class StripePspClient
{
    public async Task<PspChargeOutcome> CancelChargeAsync(string paymentOrderId, string pspReference, int attempt, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(pspReference);

        var outcome = await CallChargeAsync(
            "cancel",
            paymentOrderId,
            async token => FromPaymentIntent(await _paymentIntents.CancelAsync(
                pspReference,
                new PaymentIntentCancelOptions { CancellationReason = "abandoned" },
                // A key per attempt: a refusal is stored under its key, and a later cancel (the payment no longer processing)
                // must really be tried again. Canceling is idempotent at the PSP in any case.
                new RequestOptions { IdempotencyKey = $"cancel:{paymentOrderId}:{attempt}" },
                token).ConfigureAwait(false)),
            FromLookupStripeException,
            cancellationToken).ConfigureAwait(false);

        // Refused (paid or processing meanwhile, most likely): say what the payment is now; a network failure stays unknown.
        return outcome.Kind == PspOutcomeKind.Unknown && outcome.FailureCode is not ("timeout" or "connection_error")
            ? await GetChargeAsync(paymentOrderId, pspReference, cancellationToken).ConfigureAwait(false)
            : outcome;
    }
}
