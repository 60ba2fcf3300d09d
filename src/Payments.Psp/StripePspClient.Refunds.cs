using Stripe;

namespace Payments.Psp;

/// <summary>Refunds through Stripe.net: keyed <c>refund:{refund id}</c>, found again by <c>metadata[refund_id]</c> among the charge's refunds.</summary>
public sealed partial class StripePspClient
{
    public async Task<PspRefundOutcome> RefundAsync(PspRefundRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        var reason = request.Reason?.Trim().ToLowerInvariant();
        var createOptions = new RefundCreateOptions
        {
            PaymentIntent = request.PaymentIntentId,
            Amount = request.AmountMinor,
            Reason = reason is not null && StripeRefundReasons.Contains(reason, StringComparer.Ordinal) ? reason : null,
            Metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [RefundIdMetadataKey] = request.RefundId,
                [PaymentOrderIdMetadataKey] = request.PaymentOrderId,
            },
        };
        var requestOptions = new RequestOptions { IdempotencyKey = $"refund:{request.RefundId}" };

        return await CallAsync(
            "refund",
            request.RefundId,
            async token => FromRefund(await _refunds.CreateAsync(createOptions, requestOptions, token).ConfigureAwait(false)),
            FromRefundStripeException,
            (code, message) => new PspRefundOutcome(PspRefundStatus.Unknown, null, code, message),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<PspRefundOutcome> GetRefundAsync(string refundId, string pspRefundId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(pspRefundId);

        // A lookup that the PSP refuses says nothing about the refund: unknown, never failed.
        return await CallAsync(
            "retrieve refund",
            refundId,
            async token => FromRefund(await _refunds.GetAsync(pspRefundId, options: null, requestOptions: null, cancellationToken: token).ConfigureAwait(false)),
            exception => new PspRefundOutcome(PspRefundStatus.Unknown, null, exception.StripeError?.Code ?? "lookup_failed", exception.Message),
            (code, message) => new PspRefundOutcome(PspRefundStatus.Unknown, null, code, message),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<PspRefundOutcome?> FindRefundAsync(string refundId, string paymentIntentId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(refundId);
        ArgumentException.ThrowIfNullOrEmpty(paymentIntentId);

        var none = new PspRefundOutcome(PspRefundStatus.Unknown, null, "not_found", "no refund");
        var outcome = await CallAsync(
            "find refund",
            refundId,
            async token =>
            {
                // A charge has few refunds (we allow a bounded number per order): one page holds them all.
                var refunds = await _refunds.ListAsync(new RefundListOptions { PaymentIntent = paymentIntentId, Limit = 100 }, requestOptions: null, cancellationToken: token)
                    .ConfigureAwait(false);
                var ours = refunds.Data?.FirstOrDefault(refund => refund.Metadata?.GetValueOrDefault(RefundIdMetadataKey) == refundId);
                return ours is null ? none : FromRefund(ours);
            },
            exception => new PspRefundOutcome(PspRefundStatus.Unknown, null, exception.StripeError?.Code ?? "lookup_failed", exception.Message),
            (code, message) => new PspRefundOutcome(PspRefundStatus.Unknown, null, code, message),
            cancellationToken).ConfigureAwait(false);
        return ReferenceEquals(outcome, none) ? null : outcome;
    }

    /// <summary>Classifies a refund that the PSP returned with HTTP 200.</summary>
    public static PspRefundOutcome FromRefund(Refund refund)
    {
        ArgumentNullException.ThrowIfNull(refund);
        return refund.Status switch
        {
            "succeeded" => new PspRefundOutcome(PspRefundStatus.Succeeded, refund.Id, null, null),
            "failed" => new PspRefundOutcome(PspRefundStatus.Failed, refund.Id, refund.FailureReason ?? "failed", $"Refund {refund.Id} failed."),
            "canceled" => new PspRefundOutcome(PspRefundStatus.Failed, refund.Id, "canceled", $"Refund {refund.Id} was canceled."),
            // pending, requires_action, or a status Stripe adds later: not final; its end arrives by webhook.
            _ => new PspRefundOutcome(PspRefundStatus.Pending, refund.Id, null, null),
        };
    }

    /// <summary>Classifies an error answer of the PSP to a refund.</summary>
    public static PspRefundOutcome FromRefundStripeException(StripeException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var status = (int)exception.HttpStatusCode;
        var error = exception.StripeError;
        var code = error?.Code ?? error?.Type ?? $"http_{status}";
        var message = error?.Message ?? exception.Message;

        if (status is 409 or 429 || status >= 500 || status == 0)
        {
            return new PspRefundOutcome(PspRefundStatus.Unknown, null, code, message, RetryAfter(exception.StripeResponse?.Headers));
        }

        return error?.Type switch
        {
            // amount_too_large, charge_already_refunded, resource_missing, idempotency_error, ...
            "invalid_request_error" or "idempotency_error" or "card_error" => new PspRefundOutcome(PspRefundStatus.Failed, null, code, message),
            // authentication_error, permission_error, api_error, or not a Stripe error at all: a configuration
            // or PSP problem; the refund is not refused.
            _ => new PspRefundOutcome(PspRefundStatus.Unknown, null, code, message, RetryAfter(exception.StripeResponse?.Headers)),
        };
    }
}
