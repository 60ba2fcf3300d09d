namespace Payments.Core.Payouts;

[GenerateSerializer, Alias("Payments.PayoutStatus")]
public enum PayoutStatus
{
    /// <summary>Reserved in the wallet; the PSP has not (yet surely) accepted it.</summary>
    Pending = 0,

    /// <summary>The PSP accepted it: the money is on its way to the seller's bank.</summary>
    InTransit = 1,

    Paid = 2,

    /// <summary>It never reached the seller, or the bank sent it back after it was paid: the money is available again.</summary>
    Failed = 3,
}

public static class PayoutStatusExtensions
{
    /// <summary>Final for the payout's own work. A PAID payout may still turn FAILED when the bank returns the money.</summary>
    public static bool IsFinal(this PayoutStatus status) => status is PayoutStatus.Paid or PayoutStatus.Failed;

    /// <summary>The state machine: PENDING → IN_TRANSIT → PAID | FAILED (PENDING may skip ahead), and PAID → FAILED.</summary>
    public static bool CanMoveTo(this PayoutStatus from, PayoutStatus to) => (from, to) switch
    {
        (PayoutStatus.Pending, PayoutStatus.InTransit or PayoutStatus.Paid or PayoutStatus.Failed) => true,
        (PayoutStatus.InTransit, PayoutStatus.Paid or PayoutStatus.Failed) => true,
        (PayoutStatus.Paid, PayoutStatus.Failed) => true,
        _ => false,
    };

    public static string ToWireName(this PayoutStatus status) => status switch
    {
        PayoutStatus.Pending => "PENDING",
        PayoutStatus.InTransit => "IN_TRANSIT",
        PayoutStatus.Paid => "PAID",
        PayoutStatus.Failed => "FAILED",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };
}

/// <param name="AmountMinor">What to pay; null for all that is available when the payout is made.</param>
/// <param name="Destination">The seller's bank account as a PSP token, from its payout settings.</param>
/// <param name="RequestToken">The HTTP request's token: the same request asked again is answered Created again, not AlreadyExists.</param>
[GenerateSerializer, Immutable, Alias("Payments.CreatePayout")]
public sealed record CreatePayout(
    [property: Id(0)] string MerchantId,
    [property: Id(1)] string SellerAccount,
    [property: Id(2)] string Currency,
    [property: Id(3)] long? AmountMinor,
    [property: Id(4)] string Destination,
    [property: Id(5)] string? RequestToken = null);

[GenerateSerializer, Alias("Payments.CreatePayoutOutcome")]
public enum CreatePayoutOutcome
{
    Created = 0,

    /// <summary>The same payout id with the same seller, currency and amount: nothing moves again.</summary>
    AlreadyExists = 1,

    /// <summary>The payout id is taken by another payout.</summary>
    ExistsWithDifferentTerms = 2,

    /// <summary>Less is available than asked, or nothing: no payout was made.</summary>
    InsufficientFunds = 3,
}

[GenerateSerializer, Immutable, Alias("Payments.CreatePayoutResult")]
public sealed record CreatePayoutResult(
    [property: Id(0)] CreatePayoutOutcome Outcome,
    [property: Id(1)] PayoutView? Payout,
    [property: Id(2)] long AvailableMinor);

[GenerateSerializer, Immutable, Alias("Payments.PayoutFailure")]
public sealed record PayoutFailure([property: Id(0)] string Code, [property: Id(1)] string Message);

[GenerateSerializer, Immutable, Alias("Payments.PayoutHistoryEntry")]
public sealed record PayoutHistoryEntry([property: Id(0)] PayoutStatus Status, [property: Id(1)] DateTimeOffset At);

[GenerateSerializer, Immutable, Alias("Payments.PayoutView")]
public sealed record PayoutView(
    [property: Id(0)] string PayoutId,
    [property: Id(1)] string MerchantId,
    [property: Id(2)] string SellerAccount,
    [property: Id(3)] Money.Money Amount,
    [property: Id(4)] PayoutStatus Status,
    [property: Id(5)] string Destination,
    [property: Id(6)] string? PspReference,
    [property: Id(7)] PayoutFailure? Failure,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateTimeOffset UpdatedAt,
    [property: Id(10)] DateTimeOffset? ArrivalDate,
    [property: Id(11)] IReadOnlyList<PayoutHistoryEntry> History,
    [property: Id(12)] int Attempts,
    [property: Id(13)] DateTimeOffset? NextRetryAt,
    [property: Id(14)] bool DeadLettered,
    [property: Id(15)] bool OwesEffects);

[GenerateSerializer, Alias("Payments.PayoutNoticeKind")]
public enum PayoutNoticeKind
{
    Paid = 0,
    Failed = 1,

    /// <summary>Nothing final (created, updated, in transit).</summary>
    Informational = 2,
}

/// <summary>What a verified PSP webhook says about one payout.</summary>
[GenerateSerializer, Immutable, Alias("Payments.PayoutNotice")]
public sealed record PayoutNotice(
    [property: Id(0)] string EventId,
    [property: Id(1)] PayoutNoticeKind Kind,
    [property: Id(2)] string? PspPayoutId,
    [property: Id(3)] string? FailureCode,
    [property: Id(4)] string? FailureMessage);

[GenerateSerializer, Alias("Payments.PayoutNoticeOutcome")]
public enum PayoutNoticeOutcome
{
    Applied = 0,

    /// <summary>Late, duplicate or out of order: the payout is already past what the event says.</summary>
    Ignored = 1,

    UnknownPayout = 2,
}

[GenerateSerializer, Alias("Payments.ReplayPayoutOutcome")]
public enum ReplayPayoutOutcome
{
    Replayed = 0,
    NotParked = 1,
}

[GenerateSerializer, Immutable, Alias("Payments.ReplayPayoutResult")]
public sealed record ReplayPayoutResult([property: Id(0)] ReplayPayoutOutcome Outcome, [property: Id(1)] PayoutView? Payout);

[Alias("Payments.IPayoutGrain")]
public interface IPayoutGrain : IGrainWithStringKey
{
    /// <summary>
    /// Reserves the money in the seller's wallet (refusing what is not available) and asks the PSP to pay it; a payout id
    /// moves money at most once, ever.
    /// </summary>
    [Alias("CreateAsync")]
    Task<CreatePayoutResult> CreateAsync(CreatePayout command);

    /// <summary>Applies what a PSP webhook says; an event that would move the payout backwards is ignored.</summary>
    [Alias("ApplyPspNoticeAsync")]
    Task<PayoutNoticeOutcome> ApplyPspNoticeAsync(PayoutNotice notice);

    /// <summary>
    /// Gives a dead-lettered payout a fresh retry budget and drives it again. The same request (<paramref name="requestToken"/>)
    /// asked again is answered Replayed again.
    /// </summary>
    [Alias("ReplayAsync")]
    Task<ReplayPayoutResult> ReplayAsync(string? requestToken);

    /// <summary>The payout as stored; null when it does not exist. Reads interleave with a running PSP call.</summary>
    [Alias("GetAsync"), AlwaysInterleave]
    Task<PayoutView?> GetAsync();
}
