using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// Dead letters: an order whose retry budget ran out is parked, never failed (the PSP may have moved money), and does nothing
/// until an operator replays it or the PSP's final answer arrives; then it goes on with a fresh budget.
/// </summary>
internal sealed class PaymentOrderParking(TimeProvider time, RetryBudget budget)
{
    /// <summary>Parks the order at <paramref name="stage"/>. The grain cancels its wake-up with it: a parked order waits for nobody.</summary>
    public void Park(PaymentOrderState state, string stage)
    {
        PaymentsMetrics.DeadLettersParked.Add(1, new("subject", DeadLetterStore.SubjectPaymentOrder), new("stage", stage));
        state.DeadLettered = true;
        state.DeadLetteredAt = time.GetUtcNow();
        state.DeadLetterStage = stage;
        state.NextRetryAt = null;
    }

    /// <summary>Back to work with a fresh budget: the attempts so far stay on record, the count toward the limit starts again.</summary>
    public static void Unpark(PaymentOrderState state)
    {
        state.DeadLettered = false;
        state.DeadLetteredAt = null;
        state.DeadLetterStage = null;
        state.AttemptsAtBudgetStart = state.Attempts;
        state.EffectFailures = 0;
        state.NextRetryAt = null;
        foreach (var refund in state.Refunds)
        {
            refund.AttemptsAtBudgetStart = refund.Attempts;
            refund.NextRetryAt = null;
        }
    }

    /// <summary>What a replay request finds; when it replays, the order is un-parked and the request remembered.</summary>
    public ReplayDecision Replay(PaymentOrderState state, string? requestToken)
    {
        if (state.Exists && requestToken is not null && state.LastReplayRequest == requestToken)
        {
            // This very replay again (the gateway lost the first answer with a silo): it did replay.
            return ReplayDecision.AlreadyReplayed;
        }

        if (!state.Exists || !state.DeadLettered)
        {
            return ReplayDecision.NotParked;
        }

        Unpark(state);
        state.LastReplayRequest = requestToken;
        state.UpdatedAt = time.GetUtcNow();
        return ReplayDecision.Replays;
    }

    /// <summary>What the order is parked for; orders parked before the stage was recorded tell it by their state.</summary>
    public string ParkedStage(PaymentOrderState state) =>
        state.DeadLetterStage
        ?? (state.Status != PaymentOrderStatus.Success ? DeadLetterStore.StagePspCharge
            : state.Refunds.Any(refund => refund.IsOutOfBudget(budget)) ? DeadLetterStore.StagePspRefund
            : DeadLetterStore.StageEffects);

    /// <summary>The tries the dead-letter row shows: the charge's, the unanswered refund's, or the outbox's failed rounds.</summary>
    public int AttemptsOnRecord(PaymentOrderState state, string stage) => stage switch
    {
        DeadLetterStore.StagePspCharge => state.Attempts,
        DeadLetterStore.StagePspRefund => state.Refunds.Where(refund => refund.IsOutOfBudget(budget)).Select(refund => refund.Attempts).DefaultIfEmpty(0).Max(),
        _ => state.EffectFailures,
    };
}

internal enum ReplayDecision
{
    /// <summary>The same request again: answered as replayed, nothing changes.</summary>
    AlreadyReplayed,

    /// <summary>Nothing parked (a row a crash left 'parked' is settled by the grain).</summary>
    NotParked,

    /// <summary>Un-parked with a fresh budget: the grain stores it, marks the row and drives the order.</summary>
    Replays,
}
