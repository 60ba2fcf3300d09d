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

    /// <summary>
    /// Cancels a payment the buyer never finished (a 3-D Secure page left open), so nobody can pay it later:
    /// <see cref="PspOutcomeKind.Declined"/> (code <c>canceled</c>) once canceled; if it was paid meanwhile,
    /// <see cref="PspOutcomeKind.Succeeded"/>; still open or unreachable, <see cref="PspOutcomeKind.RequiresAction"/> or
    /// <see cref="PspOutcomeKind.Unknown"/>, to try again (with the next <paramref name="attempt"/>, which keys the request).
    /// </summary>
    Task<PspChargeOutcome> CancelChargeAsync(string paymentOrderId, string pspReference, int attempt, CancellationToken cancellationToken);

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

    /// <summary>
    /// Pays a seller's money out to its bank account, idempotent by the payout id (the Idempotency-Key and
    /// <c>metadata[payout_id]</c>). Never throws for PSP or network failures; those come back as
    /// <see cref="PspPayoutStatus.Unknown"/>.
    /// </summary>
    Task<PspPayoutOutcome> CreatePayoutAsync(PspPayoutRequest request, CancellationToken cancellationToken);

    /// <summary>Reads a payout's current state. A refused or failed lookup is <see cref="PspPayoutStatus.Unknown"/>.</summary>
    Task<PspPayoutOutcome> GetPayoutAsync(string payoutId, string pspPayoutId, CancellationToken cancellationToken);

    /// <summary>
    /// Looks for our payout among the PSP's payouts created from <paramref name="createdNotBefore"/> to
    /// <paramref name="createdNotAfter"/> (our first and last attempts, with a margin), by its
    /// <c>metadata[payout_id]</c> (not by idempotency key): for when the key may be older than the PSP keeps keys,
    /// and creating again could pay twice. Null when the PSP holds none; <see cref="PspPayoutStatus.Unknown"/> when the
    /// lookup itself failed.
    /// </summary>
    Task<PspPayoutOutcome?> FindPayoutAsync(string payoutId, DateTimeOffset createdNotBefore, DateTimeOffset createdNotAfter, CancellationToken cancellationToken);
}

/// <param name="PayoutId">Our payout id: the idempotency key at the PSP and <c>metadata[payout_id]</c>.</param>
/// <param name="Destination">The seller's bank account as a PSP token (<c>ba_...</c>).</param>
public sealed record PspPayoutRequest(
    string PayoutId,
    string SellerAccount,
    long AmountMinor,
    string Currency,
    string Destination);

public enum PspPayoutStatus
{
    /// <summary>Accepted by the PSP (Stripe's <c>pending</c> or <c>in_transit</c>): the money is on its way.</summary>
    InTransit,

    Paid,

    /// <summary>Refused, failed or canceled: the money did not reach the seller and is ours again.</summary>
    Failed,

    /// <summary>Timeout, connection failure, 5xx: the payout may or may not exist. Retry with the same key.</summary>
    Unknown,
}

public sealed record PspPayoutOutcome(
    PspPayoutStatus Status,
    string? PspPayoutId,
    string? FailureCode,
    string? FailureMessage,
    DateTimeOffset? ArrivalDate = null,
    TimeSpan? RetryAfter = null);

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
