namespace Payments.Grains;

/// <summary>
/// One grain timer that wakes a grain for whatever it waits for first (a PSP retry, a lookup, an effect's retry): arming
/// it again for later keeps the earlier wake-up, and a wake-up that comes early only leads the grain to arm it again for
/// what is not due yet.
/// </summary>
internal sealed class WakeUpTimer(Grain grain, Func<Task> onWake, TimeProvider time)
{
    private IGrainTimer? _timer;
    private DateTimeOffset _due;

    public void Arm(TimeSpan delay, bool keepAlive = true)
    {
        delay = delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
        var due = time.GetUtcNow() + delay;
        if (_timer is not null && _due <= due)
        {
            return;
        }

        _timer?.Dispose();
        _due = due;
        _timer = grain.RegisterGrainTimer(
            static (wakeUp, _) => wakeUp.WakeAsync(),
            this,
            new GrainTimerCreationOptions { DueTime = delay, Period = Timeout.InfiniteTimeSpan, KeepAlive = keepAlive });
    }

    public void Cancel()
    {
        _timer?.Dispose();
        _timer = null;
    }

    private Task WakeAsync()
    {
        // A timer may fire a little before what it was armed for is due; with no timer left, the grain arms a fresh one
        // for the remainder instead of leaving itself to its (much slower) reminder.
        Cancel();
        return onWake();
    }
}
