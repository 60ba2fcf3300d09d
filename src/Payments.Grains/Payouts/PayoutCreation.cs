using Payments.Core.Payouts;

namespace Payments.Grains.Payouts;

/// <summary>
/// A payout's birth: the state a create request opens, the wallet's reservation taken in, and the answer to a request for
/// a payout id that exists already (a payout id moves money at most once, ever).
/// </summary>
internal static class PayoutCreation
{
    public static PayoutState Open(CreatePayout command, DateTimeOffset now) => new()
    {
        Exists = true,
        MerchantId = command.MerchantId,
        SellerAccount = command.SellerAccount,
        Currency = command.Currency,
        RequestedMinor = command.AmountMinor,
        Destination = command.Destination,
        CreatedByRequest = command.RequestToken,
        Status = PayoutStatus.Pending,
        History = [new PayoutHistoryEntry(PayoutStatus.Pending, now)],
        CreatedAt = now,
        UpdatedAt = now,
    };

    /// <summary>What the wallet holds for the payout: from now on its amount.</summary>
    public static void TakeReservation(PayoutState state, long reservedMinor, DateTimeOffset now)
    {
        state.AmountMinor = reservedMinor;
        state.Reserved = true;
        state.UpdatedAt = now;
    }

    /// <summary>
    /// Whether a request for an existing payout asks for that payout: the same merchant, seller and currency, and the same
    /// amount unless it asks for "all that is available" (which the reservation already turned into the amount).
    /// </summary>
    public static bool HasSameTerms(PayoutState state, CreatePayout command) =>
        state.MerchantId == command.MerchantId
        && state.SellerAccount == command.SellerAccount
        && state.Currency == command.Currency
        && (command.AmountMinor is null || command.AmountMinor == (state.Reserved ? state.AmountMinor : state.RequestedMinor));

    /// <summary>
    /// The answer to a request with the same terms, once what the first request left undone has gone on: gone if the wallet
    /// refused it meanwhile; Created to the request that created it, asked again (the gateway lost the first answer with a
    /// silo), as the first answer said; AlreadyExists to any other.
    /// </summary>
    public static CreatePayoutOutcome OutcomeOfRepeat(PayoutState state, CreatePayout command) =>
        !state.Exists ? CreatePayoutOutcome.InsufficientFunds
        : command.RequestToken is not null && state.CreatedByRequest == command.RequestToken ? CreatePayoutOutcome.Created
        : CreatePayoutOutcome.AlreadyExists;
}
