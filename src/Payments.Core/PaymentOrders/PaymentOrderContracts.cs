using Payments.Core.Money;

namespace Payments.Core.PaymentOrders;

[GenerateSerializer, Alias("Payments.PaymentOrderStatus")]
public enum PaymentOrderStatus
{
    NotStarted = 0,
    Executing = 1,
    RequiresAction = 2,
    Success = 3,
    Failed = 4,
}

public static class PaymentOrderStatusExtensions
{
    public static bool IsFinal(this PaymentOrderStatus status) => status is PaymentOrderStatus.Success or PaymentOrderStatus.Failed;

    /// <summary>The state machine: NOT_STARTED → EXECUTING → SUCCESS | FAILED | REQUIRES_ACTION → SUCCESS | FAILED.</summary>
    public static bool CanMoveTo(this PaymentOrderStatus from, PaymentOrderStatus to) => (from, to) switch
    {
        (PaymentOrderStatus.NotStarted, PaymentOrderStatus.Executing) => true,
        (PaymentOrderStatus.Executing, PaymentOrderStatus.Success or PaymentOrderStatus.Failed or PaymentOrderStatus.RequiresAction) => true,
        (PaymentOrderStatus.RequiresAction, PaymentOrderStatus.Success or PaymentOrderStatus.Failed) => true,
        _ => false,
    };

    /// <summary>The wire name used by the HTTP API: NOT_STARTED, EXECUTING, ...</summary>
    public static string ToWireName(this PaymentOrderStatus status) => status switch
    {
        PaymentOrderStatus.NotStarted => "NOT_STARTED",
        PaymentOrderStatus.Executing => "EXECUTING",
        PaymentOrderStatus.RequiresAction => "REQUIRES_ACTION",
        PaymentOrderStatus.Success => "SUCCESS",
        PaymentOrderStatus.Failed => "FAILED",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };
}

/// <summary>How the buyer pays: a PSP token charged server to server, or the PSP's hosted payment page.</summary>
[GenerateSerializer, Immutable, Alias("Payments.PaymentMethod")]
public sealed record PaymentMethod([property: Id(0)] string? Token, [property: Id(1)] string? ReturnUrl)
{
    public bool IsHostedPage => Token is null;

    public static PaymentMethod ForToken(string token) => new(token, null);

    public static PaymentMethod ForHostedPage(string returnUrl) => new(null, returnUrl);

    public override string ToString() => IsHostedPage ? $"hosted_page {ReturnUrl}" : $"token {Token}";
}

[GenerateSerializer, Immutable, Alias("Payments.CreatePaymentOrder")]
public sealed record CreatePaymentOrder(
    [property: Id(0)] string MerchantId,
    [property: Id(1)] string CheckoutId,
    [property: Id(2)] string SellerAccount,
    [property: Id(3)] Money.Money Amount,
    [property: Id(4)] PaymentMethod PaymentMethod,
    [property: Id(5)] string BuyerId);

[GenerateSerializer, Alias("Payments.CreatePaymentOrderOutcome")]
public enum CreatePaymentOrderOutcome
{
    Created = 0,
    AlreadyExists = 1,
    BelongsToOtherCheckout = 2,
    ExistsWithDifferentTerms = 3,
}

[GenerateSerializer, Immutable, Alias("Payments.CreatePaymentOrderResult")]
public sealed record CreatePaymentOrderResult([property: Id(0)] CreatePaymentOrderOutcome Outcome);

[GenerateSerializer, Immutable, Alias("Payments.PaymentFailure")]
public sealed record PaymentFailure(
    [property: Id(0)] string Code,
    [property: Id(1)] string Message,
    [property: Id(2)] bool Retryable);

[GenerateSerializer, Immutable, Alias("Payments.PaymentOrderHistoryEntry")]
public sealed record PaymentOrderHistoryEntry(
    [property: Id(0)] PaymentOrderStatus Status,
    [property: Id(1)] DateTimeOffset At);

/// <param name="OwesEffects">
/// Money moved (at the PSP, or by fulfillment) that wallet and ledger do not show yet: the pay-in's, a refund's (or its
/// reversal's), a late payment's, or the fulfillment's move from pending to available. The order's own answer, not worked
/// out again here.
/// </param>
/// <param name="OwesWork">The order still has work to do (not final, or moves owed, or the PSP still to hear or ask): its own answer.</param>
[GenerateSerializer, Immutable, Alias("Payments.PaymentOrderView")]
public sealed record PaymentOrderView(
    [property: Id(0)] string PaymentOrderId,
    [property: Id(1)] string MerchantId,
    [property: Id(2)] string CheckoutId,
    [property: Id(3)] string SellerAccount,
    [property: Id(4)] Money.Money Amount,
    [property: Id(5)] PaymentOrderStatus Status,
    [property: Id(6)] string? PspReference,
    [property: Id(7)] bool WalletUpdated,
    [property: Id(8)] bool LedgerUpdated,
    [property: Id(9)] int Attempts,
    [property: Id(10)] DateTimeOffset? NextRetryAt,
    [property: Id(11)] PaymentFailure? Failure,
    [property: Id(12)] Money.Money RefundedAmount,
    [property: Id(13)] IReadOnlyList<PaymentOrderHistoryEntry> History,
    [property: Id(14)] DateTimeOffset CreatedAt,
    [property: Id(15)] DateTimeOffset UpdatedAt,
    [property: Id(16)] bool DeadLettered,
    [property: Id(17)] string? ActionUrl,
    [property: Id(18)] IReadOnlyList<RefundView> Refunds,
    [property: Id(19)] DateTimeOffset? FulfilledAt = null,
    [property: Id(20)] bool FulfillmentEffectsOwed = false,
    [property: Id(21)] bool OwesEffects = false,
    [property: Id(22)] bool OwesWork = false);

[GenerateSerializer, Alias("Payments.FulfillPaymentOrderOutcome")]
public enum FulfillPaymentOrderOutcome
{
    Fulfilled = 0,

    /// <summary>Fulfilled before: nothing moves again.</summary>
    AlreadyFulfilled = 1,

    /// <summary>Not SUCCESS, or parked as a dead letter: nothing to make available.</summary>
    NotFulfillable = 2,
}

[GenerateSerializer, Immutable, Alias("Payments.FulfillPaymentOrderResult")]
public sealed record FulfillPaymentOrderResult([property: Id(0)] FulfillPaymentOrderOutcome Outcome, [property: Id(1)] PaymentOrderView? Order);

[GenerateSerializer, Alias("Payments.RefundStatus")]
public enum RefundStatus
{
    Pending = 0,
    Succeeded = 1,
    Failed = 2,
}

[GenerateSerializer, Immutable, Alias("Payments.RefundView")]
public sealed record RefundView(
    [property: Id(0)] string RefundId,
    [property: Id(1)] string PaymentOrderId,
    [property: Id(2)] Money.Money Amount,
    [property: Id(3)] RefundStatus Status,
    [property: Id(4)] string? Reason,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] bool EffectsOwed);

/// <summary>
/// A refund to make. <paramref name="LegacyRefundId"/>: the id an earlier version would have given the same request; a refund
/// the order holds under it is this one (a request retried across the upgrade), never a second refund.
/// </summary>
[GenerateSerializer, Immutable, Alias("Payments.CreateRefund")]
public sealed record CreateRefund(
    [property: Id(0)] string RefundId,
    [property: Id(1)] long? AmountMinor,
    [property: Id(2)] string? Reason,
    [property: Id(3)] string? LegacyRefundId = null);

[GenerateSerializer, Alias("Payments.CreateRefundOutcome")]
public enum CreateRefundOutcome
{
    Created = 0,
    AlreadyExists = 1,
    ExceedsPayment = 2,
    NotRefundable = 3,
}

[GenerateSerializer, Immutable, Alias("Payments.CreateRefundResult")]
public sealed record CreateRefundResult([property: Id(0)] CreateRefundOutcome Outcome, [property: Id(1)] RefundView? Refund, [property: Id(2)] long RemainingMinor);

[GenerateSerializer, Alias("Payments.PspNoticeKind")]
public enum PspNoticeKind
{
    PaymentSucceeded = 0,
    PaymentFailed = 1,
    PaymentRequiresAction = 2,
    RefundSucceeded = 3,
    RefundFailed = 4,

    /// <summary>An event that changes nothing for the order (e.g. a session still unpaid).</summary>
    Informational = 5,
}

/// <summary>What a verified PSP webhook says about one payment order.</summary>
[GenerateSerializer, Immutable, Alias("Payments.PspNotice")]
public sealed record PspNotice(
    [property: Id(0)] string EventId,
    [property: Id(1)] string EventType,
    [property: Id(2)] PspNoticeKind Kind,
    [property: Id(3)] string? PaymentIntentId,
    [property: Id(4)] string? FailureCode,
    [property: Id(5)] string? FailureMessage,
    [property: Id(6)] string? RefundId,
    [property: Id(7)] string? PspRefundId = null);

[GenerateSerializer, Alias("Payments.PspNoticeOutcome")]
public enum PspNoticeOutcome
{
    Applied = 0,

    /// <summary>Late, duplicate or out of order: the order is already past what the event says.</summary>
    Ignored = 1,

    /// <summary>No such payment order.</summary>
    UnknownOrder = 2,
}

[GenerateSerializer, Alias("Payments.ReplayPaymentOrderOutcome")]
public enum ReplayPaymentOrderOutcome
{
    Replayed = 0,
    NotParked = 1,
}

[GenerateSerializer, Immutable, Alias("Payments.ReplayPaymentOrderResult")]
public sealed record ReplayPaymentOrderResult([property: Id(0)] ReplayPaymentOrderOutcome Outcome, [property: Id(1)] PaymentOrderView? Order);

[Alias("Payments.IPaymentOrderGrain")]
public interface IPaymentOrderGrain : IGrainWithStringKey
{
    /// <summary>
    /// Records the order for its checkout, started (EXECUTING, its first attempt counted) but awaiting the checkout's word
    /// before the PSP hears of it; a second checkout cannot claim it.
    /// </summary>
    [Alias("CreateAsync")]
    Task<CreatePaymentOrderResult> CreateAsync(CreatePaymentOrder command);

    /// <summary>Drives the order as far as it can go now: PSP charge, then wallet and ledger effects.</summary>
    [Alias("ExecuteAsync")]
    Task<PaymentOrderView> ExecuteAsync();

    /// <summary>Applies what a PSP webhook says; an event that would move the order backwards is ignored.</summary>
    [Alias("ApplyPspNoticeAsync")]
    Task<PspNoticeOutcome> ApplyPspNoticeAsync(PspNotice notice);

    /// <summary>Refunds part or all of a successful order; concurrent refunds never add up to more than the payment.</summary>
    [Alias("RefundAsync")]
    Task<CreateRefundResult> RefundAsync(CreateRefund command);

    /// <summary>
    /// The goods were delivered: what remains after refunds moves from the seller's pending to available funds (wallet and
    /// ledger, through the outbox), once; asking again moves nothing.
    /// </summary>
    [Alias("FulfillAsync")]
    Task<FulfillPaymentOrderResult> FulfillAsync();

    /// <summary>
    /// Gives a dead-lettered order a fresh retry budget and drives it again. The same request (<paramref name="requestToken"/>)
    /// asked again is answered Replayed again.
    /// </summary>
    [Alias("ReplayAsync")]
    Task<ReplayPaymentOrderResult> ReplayAsync(string? requestToken);

    /// <summary>
    /// The durable net's call, when the wake-up stored with the order is due: it drives the order (and fulfills a paid one
    /// nobody fulfilled in time). Harmless at any moment: an order with nothing due does nothing.
    /// </summary>
    [Alias("WakeAsync")]
    Task WakeAsync();

    /// <summary>Forgets an order that its checkout could not create, as long as the checkout never let it go.</summary>
    [Alias("ReleaseAsync")]
    Task ReleaseAsync(string checkoutId);

    /// <summary>
    /// Reconciliation found the PSP's records and ours apart for this order: ask the PSP now about the charge (and the
    /// refunds) and apply what it says the way a webhook would: a parked order un-parks, and the outbox books.
    /// </summary>
    [Alias("CheckWithPspAsync")]
    Task<Reconciliation.PspCheckResult> CheckWithPspAsync();

    /// <summary>The order as stored; null when it does not exist. Reads interleave with a running charge.</summary>
    [Alias("GetAsync"), AlwaysInterleave]
    Task<PaymentOrderView?> GetAsync();
}
