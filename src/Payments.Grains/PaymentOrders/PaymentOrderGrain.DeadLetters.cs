using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>Dead letters: an order whose retry budget ran out is parked for an operator, who replays it with a fresh budget.</summary>
internal sealed partial class PaymentOrderGrain
{
    public async Task<ReplayPaymentOrderResult> ReplayAsync(string? requestToken)
    {
        if (State.Exists && requestToken is not null && State.LastReplayRequest == requestToken)
        {
            // This very replay again (the gateway lost the first answer with a silo): it did replay.
            return new ReplayPaymentOrderResult(ReplayPaymentOrderOutcome.Replayed, ToView());
        }

        if (!State.Exists || !State.DeadLettered)
        {
            if (State.Exists)
            {
                // A row left 'parked' by a crash between un-parking the order and marking its row: settle the row.
                await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, time.GetUtcNow());
            }

            return new ReplayPaymentOrderResult(ReplayPaymentOrderOutcome.NotParked, State.Exists ? ToView() : null);
        }

        Unpark();
        State.LastReplayRequest = requestToken;
        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
        await RegisterDriveReminderAsync();
        await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, State.UpdatedAt);
        await DriveAsync();
        return new ReplayPaymentOrderResult(ReplayPaymentOrderOutcome.Replayed, ToView());
    }

    private void Park(string stage)
    {
        PaymentsMetrics.DeadLettersParked.Add(1, new("subject", DeadLetterStore.SubjectPaymentOrder), new("stage", stage));
        State.DeadLettered = true;
        State.DeadLetteredAt = time.GetUtcNow();
        State.DeadLetterStage = stage;
        State.NextRetryAt = null;
        WakeUp.Cancel();
    }

    /// <summary>Back to work with a fresh budget: the attempts so far stay on record, the count toward the limit starts again.</summary>
    private void Unpark()
    {
        State.DeadLettered = false;
        State.DeadLetteredAt = null;
        State.DeadLetterStage = null;
        State.AttemptsAtBudgetStart = State.Attempts;
        State.EffectFailures = 0;
        State.NextRetryAt = null;
        foreach (var refund in State.Refunds)
        {
            refund.AttemptsAtBudgetStart = refund.Attempts;
            refund.NextRetryAt = null;
        }
    }

    /// <summary>What the order is parked for; orders parked before the stage was recorded tell it by their state.</summary>
    private string ParkedStage() =>
        State.DeadLetterStage
        ?? (State.Status != PaymentOrderStatus.Success ? DeadLetterStore.StagePspCharge
            : State.Refunds.Any(IsOutOfBudget) ? DeadLetterStore.StagePspRefund
            : DeadLetterStore.StageEffects);

    private Task RecordDeadLetterAsync()
    {
        var stage = ParkedStage();
        var attempts = stage switch
        {
            DeadLetterStore.StagePspCharge => State.Attempts,
            DeadLetterStore.StagePspRefund => State.Refunds.Where(IsOutOfBudget).Select(refund => refund.Attempts).DefaultIfEmpty(0).Max(),
            _ => State.EffectFailures,
        };
        return deadLetters.ParkAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, State.MerchantId, stage, attempts, State.LastError ?? "unknown", State.DeadLetteredAt ?? State.UpdatedAt);
    }
}
