namespace Payments.Psp;

/// <summary>
/// The payment service provider as the payment order grain sees it: one charge per payment order,
/// made idempotent at the PSP by the payment order id.
/// </summary>
public interface IPspClient
{
    /// <summary>
    /// Charges the payment method once for the payment order. Calling it again for the same payment
    /// order (with the same parameters) never charges twice: the PSP replays the first result.
    /// Never throws for PSP or network failures; those come back as <see cref="PspOutcomeKind.Unknown"/>.
    /// </summary>
    Task<PspChargeOutcome> ChargeAsync(PspChargeRequest request, CancellationToken cancellationToken);

    /// <summary>Reads the current state of a charge made earlier (for example, one that needed action).</summary>
    Task<PspChargeOutcome> GetChargeAsync(string paymentOrderId, string pspReference, CancellationToken ct);

    /// <summary>
    /// Looks for the charge of a payment order by its metadata (not by idempotency key): for when the key may be
    /// older than the PSP keeps keys, and creating again could charge twice. Null when the PSP holds none;
    /// <see cref="PspOutcomeKind.Unknown"/> when the search itself failed.
    /// </summary>
    Task<PspChargeOutcome?> FindChargeAsync(string paymentOrderId, CancellationToken cancellationToken);

    /// <summary>
    /// Registers a hosted payment page (a Stripe Checkout Session) for the payment order, idempotent by the
    /// payment order id: <see cref="PspOutcomeKind.RequiresAction"/> with the session id as
    /// <see cref="PspChargeOutcome.PspReference"/> and the page as <see cref="PspChargeOutcome.ActionUrl"/>;
    /// <see cref="PspOutcomeKind.Unknown"/> or <see cref="PspOutcomeKind.Declined"/> when it could not be registered.
    /// </summary>
    Task<PspChargeOutcome> CreateHostedPageAsync(PspHostedPageRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Reads a hosted payment page's state: paid gives <see cref="PspOutcomeKind.Succeeded"/> with the payment
    /// intent id as reference; a failed payment on it <see cref="PspOutcomeKind.Declined"/>; still open
    /// <see cref="PspOutcomeKind.RequiresAction"/>; an unreadable answer <see cref="PspOutcomeKind.Unknown"/>.
    /// </summary>
    Task<PspChargeOutcome> GetHostedPageAsync(string paymentOrderId, string sessionId, CancellationToken cancellationToken);

    /// <summary>
    /// Closes (expires) a hosted page whose payment failed, so the buyer cannot pay on it any more:
    /// <see cref="PspOutcomeKind.Declined"/> (code <c>expired</c>) once closed; if it could not be closed because it
    /// was paid meanwhile, <see cref="PspOutcomeKind.Succeeded"/>; <see cref="PspOutcomeKind.Unknown"/> to try again.
    /// </summary>
    Task<PspChargeOutcome> CloseHostedPageAsync(string paymentOrderId, string sessionId, CancellationToken cancellationToken);

    /// <summary>Refunds part or all of a charge, idempotent by the refund id. Never throws for PSP or network failures.</summary>
    Task<PspRefundOutcome> RefundAsync(PspRefundRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Reads a refund's current state (asking to create it again would only replay the first answer).
    /// A refused or failed lookup is <see cref="PspRefundStatus.Unknown"/>.
    /// </summary>
    Task<PspRefundOutcome> GetRefundAsync(string refundId, string pspRefundId, CancellationToken cancellationToken);

    /// <summary>
    /// Looks for our refund among the charge's refunds by its metadata (not by idempotency key): for when the key may be
    /// older than the PSP keeps keys, and creating again could refund twice. Null when the PSP holds none;
    /// <see cref="PspRefundStatus.Unknown"/> when the lookup itself failed.
    /// </summary>
    Task<PspRefundOutcome?> FindRefundAsync(string refundId, string paymentIntentId, CancellationToken cancellationToken);
}

/// <param name="ReturnUrl">Where the PSP sends the buyer back after the page.</param>
public sealed record PspHostedPageRequest(
    string PaymentOrderId,
    long AmountMinor,
    string Currency,
    string ReturnUrl,
    IReadOnlyDictionary<string, string> Metadata);

/// <param name="RefundId">Our refund id: the idempotency key at the PSP and <c>metadata[refund_id]</c>.</param>
/// <param name="PaymentIntentId">The charge to refund.</param>
public sealed record PspRefundRequest(
    string RefundId,
    string PaymentOrderId,
    string PaymentIntentId,
    long AmountMinor,
    string Currency,
    string? Reason);

public enum PspRefundStatus
{
    Succeeded,
    Pending,
    Failed,

    /// <summary>Timeout, connection failure, 5xx: the refund may or may not exist. Retry with the same key.</summary>
    Unknown,
}

public sealed record PspRefundOutcome(
    PspRefundStatus Status,
    string? PspRefundId,
    string? FailureCode,
    string? FailureMessage,
    TimeSpan? RetryAfter = null);
