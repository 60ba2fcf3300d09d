using Payments.Core.Events;
using Payments.Core.Payouts;
using Payments.Grains.Events;

namespace Payments.Grains.Payouts;

/// <summary>
/// The events a payout owes the log: added to its state with the change they report, so they exist only if the change is
/// stored, and rendered from the state that change is written with. The grain writes them to the log after the state.
/// </summary>
internal static class PayoutEvents
{
    /// <summary>The event a move to <paramref name="status"/> owes; null for the moves no merchant is told of.</summary>
    /// <remarks>A payout the bank sends back after it was paid is <c>payout.failed</c> too, after its <c>payout.paid</c>.</remarks>
    public static string? TypeFor(PayoutStatus status) => status switch
    {
        PayoutStatus.Paid => EventTypes.PayoutPaid,
        PayoutStatus.Failed => EventTypes.PayoutFailed,
        _ => null,
    };

    public static void Owe(PayoutState state, string payoutId, PayoutStatus status, DateTimeOffset now)
    {
        if (TypeFor(status) is { } type)
        {
            // Ordered by the payout id: a payout's events reach the merchant in the order they happened.
            state.OwedEvents.Add(OwedEvent.For(type, payoutId, now));
        }
    }

    /// <summary>
    /// Gives each owed event not rendered yet the payout as it is about to be stored. One rendered already keeps its data:
    /// it reports the change it was owed with, not what came after.
    /// </summary>
    public static void Render(PayoutState state, string payoutId)
    {
        foreach (var owed in state.OwedEvents.Where(owed => owed.Data is null))
        {
            owed.Data = ResourceJson.Payout(PayoutViews.Of(payoutId, state));
        }
    }
}
