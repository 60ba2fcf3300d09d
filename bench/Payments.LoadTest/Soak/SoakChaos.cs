using System.Diagnostics;

namespace Payments.LoadTest.Soak;

/// <summary>
/// The chaos of a soak: the simulator's fault profiles in windows, one after another, and a silo killed with SIGKILL every
/// <see cref="SoakSettings.KillInterval"/> (round-robin), started again at once. The delays are the workload's clock, not
/// waits for something to happen.
/// </summary>
internal sealed class SoakChaos(ISoakCluster cluster, SoakHttp psp, SoakSettings settings, Action<string> log)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _kills;
    private int _restarts;
    private int _faultWindows;
    private int _faultSetFailures;

    public int Kills => Volatile.Read(ref _kills);

    public int Restarts => Volatile.Read(ref _restarts);

    public int FaultWindows => Volatile.Read(ref _faultWindows);

    /// <summary>
    /// Kills and restarts until <paramref name="stop"/>; a silo killed just before is always started again. A kill comes
    /// <see cref="SoakSettings.KillInterval"/> after the one before, or as soon as the silo before is ready again if that
    /// takes longer: never two silos down at once.
    /// </summary>
    public async Task KillLoopAsync(CancellationToken stop)
    {
        var next = settings.KillInterval;
        for (var n = 0; ; n++)
        {
            if (!await PaceAsync(next - _clock.Elapsed, stop))
            {
                return;
            }

            var victim = n % cluster.Silos;
            var killedAt = _clock.Elapsed;
            next = killedAt + settings.KillInterval;
            await cluster.KillSiloAsync(victim);
            Interlocked.Increment(ref _kills);
            await cluster.StartSiloAsync(victim);
            Interlocked.Increment(ref _restarts);
            log($"chaos: silo {victim + 1} killed at {killedAt.TotalSeconds:F0} s, ready again {(_clock.Elapsed - killedAt).TotalSeconds:F1} s later");
        }
    }

    /// <summary>Fault windows until <paramref name="stop"/>, each profile in turn with a seed of its own; off at the end.</summary>
    public async Task FaultLoopAsync(CancellationToken stop)
    {
        try
        {
            for (var n = 0; ; n++)
            {
                if (!await PaceAsync(settings.FaultQuiet, stop))
                {
                    return;
                }

                var profile = SoakSettings.FaultProfiles[n % SoakSettings.FaultProfiles.Count];
                if (await SetFaultsAsync(profile.Insert(1, $"\"seed\": {settings.Seed + n}, ")))
                {
                    Interlocked.Increment(ref _faultWindows);
                }

                var on = await PaceAsync(settings.FaultWindow, stop);
                await SetFaultsAsync("{}");
                if (!on)
                {
                    return;
                }
            }
        }
        finally
        {
            await SetFaultsAsync("{}");
        }
    }

    public void PrintSummary() => log($"chaos: {Kills} kills, {Restarts} restarts, {FaultWindows} fault windows, {_faultSetFailures} fault settings refused");

    private async Task<bool> SetFaultsAsync(string profile)
    {
        var answer = await psp.PostRawAsync("/_sim/faults", profile);
        if (answer.Status != 200)
        {
            Interlocked.Increment(ref _faultSetFailures);
            log($"chaos: the simulator refused faults {profile}: {answer.Status} {answer.Body}");
            return false;
        }

        return true;
    }

    /// <summary>Waits <paramref name="interval"/>; false when the soak ended meanwhile.</summary>
    private static async Task<bool> PaceAsync(TimeSpan interval, CancellationToken stop)
    {
        if (interval <= TimeSpan.Zero)
        {
            return !stop.IsCancellationRequested;
        }

        try
        {
            await Task.Delay(interval, stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
