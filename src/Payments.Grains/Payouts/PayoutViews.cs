using Payments.Core.Money;
using Payments.Core.Payouts;

namespace Payments.Grains.Payouts;

/// <summary>The payout as its callers, its GET route and its events see it, made from the stored state.</summary>
internal static class PayoutViews
{
    /// <summary>
    /// What the payout pays: what the wallet reserved once it has, until then what was asked (0 for "all that is available",
    /// which only the reservation turns into an amount).
    /// </summary>
    public static long AmountMinor(PayoutState state) => state.Reserved ? state.AmountMinor : state.RequestedMinor ?? 0;

    public static PayoutView Of(string payoutId, PayoutState state) => new(
        payoutId,
        state.MerchantId,
        state.SellerAccount,
        new Money(AmountMinor(state), Currency.Get(state.Currency)),
        state.Status,
        state.Destination,
        state.PspPayoutId,
        state.Failure,
        state.CreatedAt,
        state.UpdatedAt,
        state.ArrivalDate,
        state.History.ToArray(),
        state.Attempts,
        state.NextRetryAt,
        state.DeadLettered,
        state.OwesEffects);
}
