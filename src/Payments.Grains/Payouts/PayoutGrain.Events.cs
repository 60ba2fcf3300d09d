using Payments.Core.Events;
using Payments.Core.Payouts;
using Payments.Grains.Events;
using Payments.Grains.PaymentOrders;

namespace Payments.Grains.Payouts;

/// <summary>The payout's events: owed with the change they report, written to the log after the state.</summary>
internal sealed partial class PayoutGrain
{
    /// <summary>Failed writes of owed events in a row (in memory: a new activation starts again at once).</summary>
    private int _eventFailures;

    /// <summary>A payout the bank sends back after it was paid is <c>payout.failed</c> too, after its <c>payout.paid</c>.</summary>
    private void OweEvent(PayoutStatus status)
    {
        var type = status switch
        {
            PayoutStatus.Paid => EventTypes.PayoutPaid,
            PayoutStatus.Failed => EventTypes.PayoutFailed,
            _ => null,
        };
        if (type is not null)
        {
            State.OwedEvents.Add(OwedEvent.For(type, PayoutId, time.GetUtcNow()));
        }
    }

    private void RenderOwedEvents()
    {
        foreach (var owed in State.OwedEvents.Where(owed => owed.Data is null))
        {
            owed.Data = ResourceJson.Payout(ToView());
        }
    }

    private async Task WriteOwedEventsAsync()
    {
        if (await events.WriteAsync(this, State.MerchantId, State.OwedEvents))
        {
            _eventFailures = 0;
            return;
        }

        // The drive reminder stays while events are owed (see IsDone); the timer tries sooner, backing off.
        var retry = options.Value.Retry;
        WakeUp.Arm(RetryDelay.Next(++_eventFailures, retry.DelayBase, retry.DelayMax, retryAfter: null, Random.Shared));
    }
}
