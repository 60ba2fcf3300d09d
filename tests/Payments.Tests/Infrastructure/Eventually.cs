namespace Payments.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline, and says what it was waiting for when the deadline passes.</summary>
internal static class Eventually
{
    public static async Task<T> MatchesAsync<T>(Func<Task<T>> read, Func<T, bool> condition, TimeSpan timeout, string what)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }

            if (deadline.IsCancellationRequested)
            {
                throw new TimeoutException($"After {timeout.TotalSeconds:0.#} s still waiting for {what}; last seen: {value}");
            }

            // Back off gently between reads; the condition is re-checked at once when the deadline passes.
            await Task.Delay(delay, CancellationToken.None);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }
    }
}
