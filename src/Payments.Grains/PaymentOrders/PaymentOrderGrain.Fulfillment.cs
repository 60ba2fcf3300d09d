using Microsoft.Extensions.Logging;
using Payments.Core.PaymentOrders;

namespace Payments.Grains.PaymentOrders;

/// <summary>Fulfillment: the goods were delivered, and what remains of the payment becomes the seller's to be paid out.</summary>
internal sealed partial class PaymentOrderGrain
{
    private bool _autoFulfillmentArmed;

    public async Task<FulfillPaymentOrderResult> FulfillAsync()
    {
        if (!State.Exists || State.Status != PaymentOrderStatus.Success)
        {
            return new FulfillPaymentOrderResult(FulfillPaymentOrderOutcome.NotFulfillable, State.Exists ? ToView() : null);
        }

        var outcome = State.FulfilledAt is null ? FulfillPaymentOrderOutcome.Fulfilled : FulfillPaymentOrderOutcome.AlreadyFulfilled;
        if (outcome == FulfillPaymentOrderOutcome.Fulfilled)
        {
            await MarkFulfilledAsync();
        }

        // Also for a repeat: effects still owed from the first call (a crash, a wallet that was down) are applied now. A parked
        // order records the fulfillment and moves the money once an operator replays it (its pay-in's booking comes first).
        await DriveAsync();
        return new FulfillPaymentOrderResult(outcome, ToView());
    }

    /// <summary>The auto-fulfillment reminder's tick: fulfills a paid order once <see cref="FulfillmentOptions.AutoAfter"/> has passed.</summary>
    private async Task AutoFulfillAsync()
    {
        if (State.Status == PaymentOrderStatus.Success && State.FulfilledAt is null)
        {
            if (State.DeadLettered || AutoFulfillmentDue() > time.GetUtcNow())
            {
                return;
            }

            logger.LogInformation("Payment order {PaymentOrderId}: nobody fulfilled it within {AutoAfter}; fulfilled automatically", PaymentOrderId, fulfillment.Value.AutoAfter);
            await MarkFulfilledAsync();
            await DriveAsync();
            return;
        }

        _autoFulfillmentArmed = false;
        await UnregisterReminderAsync(AutoFulfillReminderName);
    }

    /// <summary>
    /// Records the fulfillment (write-ahead, like every transition): what remains after the refunds that succeeded moves to
    /// available; a refund still pending takes its money from available once it succeeds.
    /// </summary>
    private async Task MarkFulfilledAsync()
    {
        if (IsDone())
        {
            // A finished order has no drive reminder, and this makes it owe effects again: the reminder first, before anything
            // changes, so that a crash after the change is stored still moves the money.
            await RegisterDriveReminderAsync();
        }

        State.FulfilledAt = time.GetUtcNow();
        State.FulfilledMinor = State.AmountMinor - State.RefundedMinor;
        State.UpdatedAt = State.FulfilledAt.Value;
        AssertConsistent();
        await PersistAsync();
    }

    /// <summary>When a paid order is fulfilled if nobody does it first.</summary>
    private DateTimeOffset AutoFulfillmentDue()
    {
        var succeededAt = State.History.FirstOrDefault(entry => entry.Status == PaymentOrderStatus.Success)?.At ?? State.UpdatedAt;
        return succeededAt + fulfillment.Value.AutoAfter;
    }

    /// <summary>
    /// While a paid order is not fulfilled, a reminder due at its auto-fulfillment time keeps it (it outlives the drive
    /// reminder, which goes once nothing else is owed). Registered once per activation, always for the same moment.
    /// </summary>
    private async Task ArmAutoFulfillmentAsync()
    {
        var wanted = State.Status == PaymentOrderStatus.Success && State.FulfilledAt is null;
        if (wanted && !_autoFulfillmentArmed)
        {
            var dueIn = AutoFulfillmentDue() - time.GetUtcNow();
            await this.RegisterOrUpdateReminder(AutoFulfillReminderName, dueIn < TimeSpan.Zero ? TimeSpan.Zero : dueIn, options.Value.ReminderPeriod);
            _autoFulfillmentArmed = true;
        }
        else if (!wanted && _autoFulfillmentArmed)
        {
            await UnregisterReminderAsync(AutoFulfillReminderName);
            _autoFulfillmentArmed = false;
        }
    }
}
