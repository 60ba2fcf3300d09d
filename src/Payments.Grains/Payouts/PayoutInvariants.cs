using Payments.Core.Money;
using Payments.Core.Payouts;

namespace Payments.Grains.Payouts;

/// <summary>
/// What must hold of a payout's state whenever it is loaded or about to be written. A violation is a bug: it throws, and the
/// payout goes no further with bad state (money is not moved on a guess).
/// </summary>
internal static class PayoutInvariants
{
    public static void Assert(string payoutId, PayoutState state)
    {
        if (!state.Exists)
        {
            return;
        }

        if (!Currency.TryGet(state.Currency, out _) || (state.Reserved && state.AmountMinor <= 0) || state.RequestedMinor is <= 0)
        {
            throw new InvalidOperationException($"Payout {payoutId} has an invalid amount {state.AmountMinor} {state.Currency}.");
        }

        if (!state.Reserved && (state.Status != PayoutStatus.Pending || state.Attempts > 0))
        {
            throw new InvalidOperationException($"Payout {payoutId} went to the PSP without a reservation.");
        }

        if (state.ReturnedAfterPaid && state.Status != PayoutStatus.Failed)
        {
            throw new InvalidOperationException($"Payout {payoutId} is returned but {state.Status}.");
        }
    }
}
