namespace Payments.Grains.Payouts;

/// <summary>The payout's owed events written to the log, after the state that holds them (<see cref="PayoutEvents"/> owes them).</summary>
internal sealed partial class PayoutGrain
{
    /// <summary>Failed writes of owed events in a row (in memory: a new activation starts again at once).</summary>
    private int _eventFailures;

    private async Task WriteOwedEventsAsync()
    {
        if (await events.WriteAsync(this, State.MerchantId, State.OwedEvents))
        {
            _eventFailures = 0;
            return;
        }

        // The drive reminder stays while events are owed (see IsDone); the timer tries sooner, backing off.
        WakeUp.Arm(PayoutRetryBudget.EventWriteDelay(++_eventFailures, options.Value.Retry, Random.Shared));
    }
}
