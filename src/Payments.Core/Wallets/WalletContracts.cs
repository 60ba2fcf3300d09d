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

/// <summary>Takes refunded funds back out of pending.</summary>
[GenerateSerializer, Immutable, Alias("Payments.DebitPendingFunds")]
public sealed record DebitPendingFunds(
    [property: Id(0)] string OperationId,
    [property: Id(1)] Money.Money Amount);

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

    /// <summary>Removes refunded funds from pending; applying the same operation id twice is a no-op.</summary>
    [Alias("DebitPendingAsync")]
    Task<WalletOperationResult> DebitPendingAsync(DebitPendingFunds command);

    [Alias("GetAsync"), AlwaysInterleave]
    Task<WalletView> GetAsync();
}
