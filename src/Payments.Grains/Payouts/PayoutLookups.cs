using Payments.Core.Payouts;
using Payments.Psp;

namespace Payments.Grains.Payouts;

/// <summary>
/// When a payout asks the PSP itself instead of waiting for its webhook: in transit, once it has been quiet for
/// <see cref="PayoutOptions.PspPollAfter"/> (a lost webhook delays a payout, never strands it); paid, every as often while it
/// is watched for a return (<see cref="PayoutOptions.ReturnWatch"/>), since the bank may still send the money back.
/// </summary>
internal static class PayoutLookups
{
    /// <summary>A paid payout is watched for a while after it was first paid.</summary>
    public static bool InReturnWatch(PayoutState state, DateTimeOffset now, TimeSpan returnWatch) =>
        state.Status == PayoutStatus.Paid
        && state.History.FirstOrDefault(entry => entry.Status == PayoutStatus.Paid) is { } paid
        && now < paid.At + returnWatch;

    /// <summary>Whether the payout is one the PSP is asked about at all (when due).</summary>
    public static bool IsWatched(PayoutState state, DateTimeOffset now, TimeSpan returnWatch) =>
        state.Status == PayoutStatus.InTransit || InReturnWatch(state, now, returnWatch);

    /// <summary>Whether to ask the PSP now, or how long to wait first.</summary>
    public static PayoutLookup Next(PayoutState state, DateTimeOffset now, TimeSpan pollAfter)
    {
        // A tenth early is on time: a reminder or timer set for the interval comes a hair after the last check was stored.
        var due = (state.PspCheckedAt ?? state.UpdatedAt) + pollAfter - (pollAfter / 10);
        if (due > now || state.PspPayoutId is not { } pspPayoutId)
        {
            // Only a payout in transit sets a timer for it: a watched paid payout has a reminder of its own that often.
            // Without a PSP id there is nothing to look up: waiting until "due" (already past) would fire the timer at once,
            // again and again, so it waits a whole interval for the webhook or the drive reminder instead.
            var wait = due > now ? due - now : pollAfter;
            return new PayoutLookup.NotYet(state.Status == PayoutStatus.InTransit ? wait : null);
        }

        return new PayoutLookup.AskNow(pspPayoutId);
    }

    /// <summary>
    /// Records that the PSP answered a lookup, as soon as it has: should the grain fail before it takes the answer in (it
    /// brings back its reminder first when the answer reopens a paid payout), the next drive does not ask again at once.
    /// </summary>
    public static void Asked(PayoutState state, DateTimeOffset now) => state.PspCheckedAt = now;

    /// <summary>
    /// Takes in what a lookup said: a final answer moves the payout, any other leaves a payout in transit to ask again after
    /// <paramref name="pollAfter"/>. The payout counts as updated when it was last checked.
    /// </summary>
    public static PayoutLookupAnswered Answered(PayoutState state, string payoutId, PspPayoutOutcome answer, DateTimeOffset now, TimeSpan pollAfter)
    {
        PayoutLookupAnswered answered = answer.Status is PspPayoutStatus.Paid or PspPayoutStatus.Failed
            ? new(PayoutStateMachine.Apply(state, payoutId, answer, now), AskAgainAfter: null)
            : new(Transition: null, state.Status == PayoutStatus.InTransit ? pollAfter : null);
        state.UpdatedAt = state.PspCheckedAt ?? now;
        return answered;
    }
}

/// <summary>What a payout does about asking the PSP.</summary>
internal abstract record PayoutLookup
{
    public sealed record AskNow(string PspPayoutId) : PayoutLookup;

    /// <param name="WakeUpIn">When the payout's timer wakes it to ask; null when its reminder is what wakes it.</param>
    public sealed record NotYet(TimeSpan? WakeUpIn) : PayoutLookup;
}

/// <param name="Transition">The move the answer made; null when it moved nothing.</param>
/// <param name="AskAgainAfter">When the payout's timer wakes it to ask again; null when it need not.</param>
internal sealed record PayoutLookupAnswered(PayoutTransition? Transition, TimeSpan? AskAgainAfter);
