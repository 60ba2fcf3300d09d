namespace Payments.PspSimulator;

/// <summary>How the background loops sleep: until the state changes, a time comes, or the host stops.</summary>
internal static class ChangeWaits
{
    /// <summary>
    /// Waits for <paramref name="changed"/> (<see cref="SimulatorStore.NextChange"/>, taken before the
    /// state was read), or <paramref name="timeout"/> (null: no limit), whichever is first.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="stoppingToken"/> was cancelled.</exception>
    public static async Task WaitAsync(Task changed, TimeSpan? timeout, CancellationToken stoppingToken)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var delay = Task.Delay(
            timeout is { } limit ? (limit > TimeSpan.Zero ? limit : TimeSpan.Zero) : Timeout.InfiniteTimeSpan,
            waiting.Token);
        await Task.WhenAny(changed, delay).ConfigureAwait(false);
        await waiting.CancelAsync().ConfigureAwait(false);
        stoppingToken.ThrowIfCancellationRequested();
    }
}
