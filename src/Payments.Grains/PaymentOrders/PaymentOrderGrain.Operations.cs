using Microsoft.Extensions.Logging;
using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;

namespace Payments.Grains.PaymentOrders;

/// <summary>What happens to an order from outside its charge: an operator's replay of a dead letter, and fulfillment.</summary>
internal sealed partial class PaymentOrderGrain
{
    public async Task<ReplayPaymentOrderResult> ReplayAsync(string? requestToken)
    {
        switch (Rules.Parking.Replay(State, requestToken))
        {
            case ReplayDecision.AlreadyReplayed:
                return new ReplayPaymentOrderResult(ReplayPaymentOrderOutcome.Replayed, View());
            case ReplayDecision.NotParked:
                if (State.Exists)
                {
                    // A row left 'parked' by a crash between un-parking the order and marking its row: settle the row.
                    await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, time.GetUtcNow());
                }

                return new ReplayPaymentOrderResult(ReplayPaymentOrderOutcome.NotParked, State.Exists ? View() : null);
        }

        await PersistAsync();
        await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, State.UpdatedAt);
        await DriveAsync();
        return new ReplayPaymentOrderResult(ReplayPaymentOrderOutcome.Replayed, View());
    }

    private Task RecordDeadLetterAsync()
    {
        var stage = Rules.Parking.ParkedStage(State);
        return deadLetters.ParkAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, State.MerchantId, stage, Rules.Parking.AttemptsOnRecord(State, stage),
            State.LastError ?? "unknown", State.DeadLetteredAt ?? State.UpdatedAt);
    }

    public async Task<FulfillPaymentOrderResult> FulfillAsync()
    {
        var outcome = OrderFulfillment.Outcome(State);
        if (outcome == FulfillPaymentOrderOutcome.NotFulfillable)
        {
            return new FulfillPaymentOrderResult(outcome, State.Exists ? View() : null);
        }

        if (outcome == FulfillPaymentOrderOutcome.Fulfilled)
        {
            await MarkFulfilledAsync();
        }

        // Also for a repeat: effects still owed from the first call (a crash, a wallet that was down) are applied now. A parked
        // order records the fulfillment and moves the money once an operator replays it (its pay-in's booking comes first).
        await DriveAsync();
        return new FulfillPaymentOrderResult(outcome, View());
    }

    /// <summary>Owes the fulfillment's effects from here: the write stores a drive wake-up with it, so a crash after it still moves the money.</summary>
    private async Task MarkFulfilledAsync()
    {
        Rules.Fulfillment.Mark(State);
        AssertConsistent();
        await PersistAsync();
    }
}
