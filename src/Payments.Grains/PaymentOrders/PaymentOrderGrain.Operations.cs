using Microsoft.Extensions.Logging;
using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;

namespace Payments.Grains.PaymentOrders;

/// <summary>What happens to an order from outside its charge: an operator's replay of a dead letter, and fulfillment.</summary>
internal sealed partial class PaymentOrderGrain
{
    private bool _autoFulfillmentArmed;

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
        await RegisterDriveReminderAsync();
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

    /// <summary>The auto-fulfillment reminder's tick: fulfills a paid order once <see cref="FulfillmentOptions.AutoAfter"/> has passed.</summary>
    private async Task AutoFulfillAsync()
    {
        switch (Rules.Fulfillment.OnReminder(State))
        {
            case AutoFulfillmentStep.Wait:
                return;
            case AutoFulfillmentStep.FulfillNow:
                logger.LogInformation("Payment order {PaymentOrderId}: nobody fulfilled it within {AutoAfter}; fulfilled automatically", PaymentOrderId, fulfillment.Value.AutoAfter);
                await MarkFulfilledAsync();
                await DriveAsync();
                return;
            default:
                _autoFulfillmentArmed = false;
                await UnregisterReminderAsync(AutoFulfillReminderName);
                return;
        }
    }

    private async Task MarkFulfilledAsync()
    {
        if (!State.OwesWork())
        {
            // A finished order has no drive reminder, and this makes it owe effects again: the reminder first, before anything
            // changes, so that a crash after the change is stored still moves the money.
            await RegisterDriveReminderAsync();
        }

        Rules.Fulfillment.Mark(State);
        AssertConsistent();
        await PersistAsync();
    }

    /// <summary>
    /// While a paid order is not fulfilled, a reminder due at its auto-fulfillment time keeps it (it outlives the drive
    /// reminder, which goes once nothing else is owed). Registered once per activation, always for the same moment.
    /// </summary>
    private async Task ArmAutoFulfillmentAsync()
    {
        var wanted = OrderFulfillment.AwaitsAutoFulfillment(State);
        if (wanted && !_autoFulfillmentArmed)
        {
            await this.RegisterOrUpdateReminder(AutoFulfillReminderName, Rules.Fulfillment.ReminderDueIn(State), options.Value.ReminderPeriod);
            _autoFulfillmentArmed = true;
        }
        else if (!wanted && _autoFulfillmentArmed)
        {
            await UnregisterReminderAsync(AutoFulfillReminderName);
            _autoFulfillmentArmed = false;
        }
    }
}
