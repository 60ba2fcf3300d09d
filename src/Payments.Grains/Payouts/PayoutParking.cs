using Payments.Grains.DeadLetters;

namespace Payments.Grains.Payouts;

/// <summary>
/// A payout parked as a dead letter: what parking, un-parking and a replay change in its state, and what its
/// <c>dead_letters</c> row says. A parked payout does nothing until an operator replays it or the PSP's answer comes.
/// </summary>
internal static class PayoutParking
{
    public static void Park(PayoutState state, string stage, DateTimeOffset now)
    {
        state.DeadLettered = true;
        state.DeadLetteredAt = now;
        state.DeadLetterStage = stage;
        state.NextRetryAt = null;
    }

    /// <summary>Back to work with a fresh budget.</summary>
    public static void Unpark(PayoutState state)
    {
        state.DeadLettered = false;
        state.DeadLetteredAt = null;
        state.DeadLetterStage = null;
        PayoutRetryBudget.Renew(state);
        state.NextRetryAt = null;
    }

    /// <summary>Parked because the PSP's answer could not be learnt, which the answer, now come, ends: nothing left for an operator.</summary>
    public static bool EndedByPspAnswer(PayoutState state) => state.DeadLettered && state.DeadLetterStage == DeadLetterStore.StagePspPayout;

    /// <summary>This very replay again (the gateway lost the first answer with a silo): it did replay.</summary>
    public static bool IsRepeatOfLastReplay(PayoutState state, string? requestToken) =>
        state.Exists && requestToken is not null && state.LastReplayRequest == requestToken;

    /// <summary>An operator's replay: un-parked, and the request remembered so that it is answered Replayed again.</summary>
    public static void Replay(PayoutState state, string? requestToken, DateTimeOffset now)
    {
        Unpark(state);
        state.LastReplayRequest = requestToken;
        state.UpdatedAt = now;
    }

    /// <summary>
    /// The payout's row in <c>dead_letters</c>, written again whenever the parked payout is driven (we may have died right
    /// after parking). A payout parked for its moves counts their failures; one parked at the PSP, its attempts.
    /// </summary>
    public static PayoutDeadLetterRow Row(PayoutState state) => new(
        state.DeadLetterStage ?? DeadLetterStore.StagePspPayout,
        state.DeadLetterStage == DeadLetterStore.StageEffects ? state.EffectFailures : state.Attempts,
        state.LastError ?? "unknown",
        state.DeadLetteredAt ?? state.UpdatedAt);
}

internal sealed record PayoutDeadLetterRow(string Stage, int Attempts, string LastError, DateTimeOffset ParkedAt);
