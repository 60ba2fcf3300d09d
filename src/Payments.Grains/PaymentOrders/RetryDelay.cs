namespace Payments.Grains.PaymentOrders;

/// <summary>Exponential backoff with full jitter, never shorter than what the PSP asked for.</summary>
public static class RetryDelay
{
    public static TimeSpan Next(int attempt, TimeSpan delayBase, TimeSpan delayMax, TimeSpan? retryAfter, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var exponent = Math.Min(attempt - 1, 30);
        var ceilingTicks = Math.Min(delayMax.Ticks, delayBase.Ticks * (1L << exponent));
        if (ceilingTicks <= 0 || delayBase.Ticks > delayMax.Ticks)
        {
            ceilingTicks = delayMax.Ticks;
        }

        var jittered = TimeSpan.FromTicks(random.NextInt64(0, ceilingTicks + 1));
        return retryAfter is { } asked && asked > jittered ? asked : jittered;
    }
}
