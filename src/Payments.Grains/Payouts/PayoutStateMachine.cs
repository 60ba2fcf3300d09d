using System.Diagnostics;
using Payments.Core.Payouts;
using Payments.Psp;

namespace Payments.Grains.Payouts;

/// <summary>
/// The one place a payout's status moves: on what the PSP says, whether it came in the PSP's response, a webhook or a
/// lookup. It changes the state in memory and says what moved; the grain stores the state, then performs what the new
/// status owes (bookings, wallet moves, events), so that every transition is on record before its side effects.
/// </summary>
internal static class PayoutStateMachine
{
    /// <summary>
    /// Moves the payout on with the PSP's <paramref name="answer"/> (in transit, paid or failed). Null, changing nothing, when
    /// the payout is past that already: an answer that is late, duplicated or out of order never moves a payout backwards.
    /// </summary>
    public static PayoutTransition? Apply(PayoutState state, string payoutId, PspPayoutOutcome answer, DateTimeOffset now)
    {
        var next = answer.Status switch
        {
            PspPayoutStatus.InTransit => PayoutStatus.InTransit,
            PspPayoutStatus.Paid => PayoutStatus.Paid,
            PspPayoutStatus.Failed => PayoutStatus.Failed,
            _ => throw new UnreachableException($"Payout status {answer.Status} is not an answer."),
        };
        if (!state.Status.CanMoveTo(next))
        {
            return null;
        }

        state.PspPayoutId ??= answer.PspPayoutId;
        state.ArrivalDate = answer.ArrivalDate ?? state.ArrivalDate;
        state.PspCheckedAt = now;
        state.NextRetryAt = null;
        state.LastError = null;
        if (next == PayoutStatus.Failed)
        {
            // A payout that fails after it was paid is one the bank sent back: the paid moves stand and are reversed.
            state.ReturnedAfterPaid = state.Status == PayoutStatus.Paid;
            state.Failure = new PayoutFailure(
                answer.FailureCode ?? "payout_failed",
                answer.FailureMessage ?? "The payout did not reach the seller's bank account.");
        }

        return Transition(state, payoutId, next, now);
    }

    /// <summary>What a webhook says, as the PSP's answer; null for a notice that says nothing final.</summary>
    public static PspPayoutOutcome? AnswerIn(PayoutNotice notice) => notice.Kind switch
    {
        PayoutNoticeKind.Paid => new PspPayoutOutcome(PspPayoutStatus.Paid, notice.PspPayoutId, FailureCode: null, FailureMessage: null),
        PayoutNoticeKind.Failed => new PspPayoutOutcome(PspPayoutStatus.Failed, notice.PspPayoutId, notice.FailureCode, notice.FailureMessage),
        _ => null,
    };

    /// <summary>
    /// The PSP payout a webhook is about and ours, when they differ: another PSP payout that names our payout id says
    /// nothing of ours, and must not move our money. Null when the webhook may be about ours.
    /// </summary>
    public static (string Theirs, string Ours)? ForeignPspPayout(PayoutState state, PayoutNotice notice) =>
        notice.PspPayoutId is { } theirs && state.PspPayoutId is { } ours && theirs != ours ? (theirs, ours) : null;

    /// <summary>
    /// A paid payout the bank sends back: it has no drive reminder any more, and it owes bookings again, so the grain brings
    /// the reminder back before anything changes (a crash after the change is stored still books the return soon).
    /// </summary>
    public static bool Reopens(PayoutState state, PspPayoutStatus answer) => answer == PspPayoutStatus.Failed && state.Status == PayoutStatus.Paid;

    private static PayoutTransition Transition(PayoutState state, string payoutId, PayoutStatus next, DateTimeOffset now)
    {
        if (!state.Status.CanMoveTo(next))
        {
            throw new InvalidOperationException($"Payout {payoutId}: {state.Status} -> {next} is not a valid transition.");
        }

        var transition = new PayoutTransition(state.Status, next);
        state.Status = next;
        state.UpdatedAt = now;
        // The history is bounded; the current status is always in the state itself.
        if (state.History.Count < PayoutState.HistoryLengthMax)
        {
            state.History.Add(new PayoutHistoryEntry(next, now));
        }

        PayoutEvents.Owe(state, payoutId, next, now);
        return transition;
    }
}

/// <summary>A move of a payout's status, as <see cref="PayoutStateMachine"/> made it.</summary>
internal sealed record PayoutTransition(PayoutStatus From, PayoutStatus To)
{
    /// <summary>How the payout finished, for the metric: paid, failed, or returned (failed after it was paid); null before that.</summary>
    public string? FinishedOutcome => To switch
    {
        PayoutStatus.Paid => "paid",
        PayoutStatus.Failed => From == PayoutStatus.Paid ? "returned" : "failed",
        _ => null,
    };
}
