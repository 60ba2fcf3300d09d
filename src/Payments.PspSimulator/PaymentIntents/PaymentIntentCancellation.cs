using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Payments.PspSimulator.PaymentIntents;

/// <summary>
/// <c>POST /v1/payment_intents/{id}/cancel</c>, as Stripe has it: an intent that has not succeeded (waiting for a payment
/// method, a confirmation or 3-D Secure) becomes <c>canceled</c> and nobody can pay it any more; a succeeded or canceled
/// one is refused with <c>payment_intent_unexpected_state</c> and the intent as it is, so the caller learns it was paid.
/// </summary>
internal static class PaymentIntentCancellation
{
    private static readonly string[] CancellationReasons = ["duplicate", "fraudulent", "requested_by_customer", "abandoned"];

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/payment_intents/{id}/cancel", CancelAsync);

    private static async Task CancelAsync(HttpContext http, SimulatorStore store, SimulatorFaults faults, SimulatorWebhooks webhooks, string id)
    {
        var form = await StripeApi.ReadFormAsync(http.Request).ConfigureAwait(false);
        var key = StripeApi.IdempotencyKey(http.Request);
        var apiBase = StripeApi.ApiBase(http.Request);
        var (response, replayed) = await store.ExecuteIdempotentAsync(
            key,
            StripeApi.Fingerprint(http.Request, form),
            transaction => StripeApi.WithFaults(faults, () => Cancel(transaction, webhooks, id, form.Get("cancellation_reason"), apiBase)),
            () => StripeApi.IdempotencyMismatch(key!),
            http.RequestAborted).ConfigureAwait(false);
        await StripeApi.WriteAsync(http, response, replayed).ConfigureAwait(false);
    }

    private static SimulatorResponse Cancel(SimulatorTransaction changes, SimulatorWebhooks webhooks, string id, string? reason, string apiBase)
    {
        if (reason is { Length: > 0 } && !CancellationReasons.Contains(reason))
        {
            return StripeApi.InvalidRequest("parameter_invalid_string", $"Invalid cancellation_reason: must be one of {string.Join(", ", CancellationReasons)}.", "cancellation_reason");
        }

        var intent = changes.FindIntent(id);
        if (intent is null)
        {
            return StripeApi.NoSuchPaymentIntent(id);
        }

        if (intent.Status is "succeeded" or "canceled" or "processing")
        {
            var error = StripeJson.ErrorBody(
                "invalid_request_error",
                "payment_intent_unexpected_state",
                $"You cannot cancel this PaymentIntent because it has a status of {intent.Status}.",
                null);
            return new SimulatorResponse(400, error);
        }

        var canceled = intent with
        {
            Status = "canceled",
            CanceledAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            CancellationReason = reason is { Length: > 0 } ? reason : null,
        };
        StripeApi.SaveAndAnnounce(changes, webhooks, canceled, "payment_intent.canceled", apiBase);
        return new SimulatorResponse(200, StripeJson.Serialize(StripeJson.PaymentIntent(canceled, apiBase)));
    }
}
