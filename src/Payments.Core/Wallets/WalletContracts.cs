namespace Payments.Core.Wallets;

[GenerateSerializer, Immutable, Alias("Payments.CreditPendingFunds")]
public sealed record CreditPendingFunds(
    [property: Id(0)] string OperationId,
    [property: Id(1)] string MerchantId,
    [property: Id(2)] Money.Money Amount);

/// <summary>Makes the seller one merchant's: a seller account belongs to the first merchant that pays it.</summary>
[GenerateSerializer, Immutable, Alias("Payments.ClaimSeller")]
public sealed record ClaimSeller([property: Id(0)] string MerchantId);

[GenerateSerializer, Alias("Payments.ClaimSellerOutcome")]
public enum ClaimSellerOutcome
{
    Claimed = 0,
    AlreadyOwned = 1,
    OwnedByOtherMerchant = 2,
}

[GenerateSerializer, Immutable, Alias("Payments.ClaimSellerResult")]
public sealed record ClaimSellerResult([property: Id(0)] ClaimSellerOutcome Outcome);

/// <summary>Where a seller's money sits: owed but not yet earned, payable, held by a payout in flight, delivered.</summary>
[GenerateSerializer, Alias("Payments.WalletBucket")]
public enum WalletBucket
{
    Pending = 0,
    Available = 1,
    Reserved = 2,
    PaidOut = 3,
}

/// <summary>
/// Moves money between a seller's buckets, or in from or out to the outside (a null bucket): fulfillment
/// (pending → available), refunds of a fulfilled order (available → outside, which may leave available negative),
/// and the end of a payout (reserved → paid out, reserved → available, paid out → available).
/// </summary>
/// <param name="ReleasesReservation">The reservation (its operation id) this move settles, if any.</param>
[GenerateSerializer, Immutable, Alias("Payments.MoveFunds")]
public sealed record MoveFunds(
    [property: Id(0)] string OperationId,
    [property: Id(1)] Money.Money Amount,
    [property: Id(2)] WalletBucket? From,
    [property: Id(3)] WalletBucket? To,
    [property: Id(4)] string? ReleasesReservation = null);

/// <summary>Holds available money for a payout: all of it when <paramref name="AmountMinor"/> is null.</summary>
[GenerateSerializer, Immutable, Alias("Payments.ReserveFunds")]
public sealed record ReserveFunds(
    [property: Id(0)] string OperationId,
    [property: Id(1)] string Currency,
    [property: Id(2)] long? AmountMinor);

[GenerateSerializer, Alias("Payments.ReserveFundsOutcome")]
public enum ReserveFundsOutcome
{
    Reserved = 0,

    /// <summary>This operation reserved before: <see cref="ReserveFundsResult.AmountMinor"/> is what it holds.</summary>
    AlreadyReserved = 1,

    /// <summary>Less is available than asked (or nothing at all): nothing changed.</summary>
    InsufficientFunds = 2,
}

[GenerateSerializer, Immutable, Alias("Payments.ReserveFundsResult")]
public sealed record ReserveFundsResult(
    [property: Id(0)] ReserveFundsOutcome Outcome,
    [property: Id(1)] long AmountMinor,
    [property: Id(2)] long AvailableMinor);

[GenerateSerializer, Alias("Payments.WalletOperationOutcome")]
public enum WalletOperationOutcome
{
    Applied = 0,
    AlreadyApplied = 1,
}

[GenerateSerializer, Immutable, Alias("Payments.WalletOperationResult")]
public sealed record WalletOperationResult([property: Id(0)] WalletOperationOutcome Outcome);

[GenerateSerializer, Immutable, Alias("Payments.WalletBalance")]
public sealed record WalletBalance(
    [property: Id(0)] Money.Currency Currency,
    [property: Id(1)] long PendingMinor,
    [property: Id(2)] long AvailableMinor,
    [property: Id(3)] long ReservedMinor,
    [property: Id(4)] long PaidOutMinor);

[GenerateSerializer, Immutable, Alias("Payments.WalletView")]
public sealed record WalletView(
    [property: Id(0)] string SellerAccount,
    [property: Id(1)] string? MerchantId,
    [property: Id(2)] IReadOnlyList<WalletBalance> Balances);

[Alias("Payments.ISellerWalletGrain")]
public interface ISellerWalletGrain : IGrainWithStringKey
{
    /// <summary>Makes the seller the merchant's, unless another merchant's payments already go to it.</summary>
    [Alias("ClaimAsync")]
    Task<ClaimSellerResult> ClaimAsync(ClaimSeller command);

    /// <summary>Adds captured funds to pending; applying the same operation id twice is a no-op.</summary>
    [Alias("CreditPendingAsync")]
    Task<WalletOperationResult> CreditPendingAsync(CreditPendingFunds command);

    /// <summary>Moves money between the seller's buckets (see <see cref="MoveFunds"/>); the same operation id twice is a no-op.</summary>
    [Alias("MoveAsync")]
    Task<WalletOperationResult> MoveAsync(MoveFunds command);

    /// <summary>Moves available money to reserved for a payout, or refuses (as a result) what is not there.</summary>
    [Alias("ReserveAsync")]
    Task<ReserveFundsResult> ReserveAsync(ReserveFunds command);

    [Alias("GetAsync"), AlwaysInterleave]
    Task<WalletView> GetAsync();

    /// <summary>
    /// The sender has stored that these operations are applied and will never send them again: the wallet drops them from its
    /// dedup set, which so holds only what may still come again instead of every operation ever. One-way: a lost message
    /// only leaves an id behind. An open reservation's id is kept (the payout settles by it).
    /// </summary>
    [Alias("ForgetOperationsAsync"), OneWay]
    Task ForgetOperationsAsync(IReadOnlyList<string> operationIds);
}
