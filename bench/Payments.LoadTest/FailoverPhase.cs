using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Payments.LoadTest;

/// <summary>
/// <c>--kill-pid</c>: a silo of the cluster under load is killed with SIGKILL part way through the measured checkouts, and
/// the batch's timeline tells how the cluster lived through it: how long its throughput stayed down, and the latencies of
/// the checkouts that were in flight meanwhile.
/// </summary>
internal static class FailoverPhase
{
    /// <summary>Throughput below this share of what it was before the kill counts as the cluster not coping.</summary>
    private const double RecoveredShare = 0.5;

    private static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan BeforeKill = TimeSpan.FromSeconds(5);

    /// <summary>The latency target during a failover: the API's synchronous window.</summary>
    private const double SlowMs = 5000;

    /// <summary>Kills <paramref name="pid"/> after <paramref name="after"/>; the result is when, on <paramref name="clock"/>.</summary>
    public static async Task<TimeSpan?> KillAfterAsync(int pid, TimeSpan after, Stopwatch clock)
    {
        await Task.Delay(after);
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill(entireProcessTree: false);
            var at = clock.Elapsed;
            Console.WriteLine($"killed:             pid {pid} with SIGKILL at {at.TotalSeconds:F1} s");
            return at;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            Console.WriteLine($"kill:               pid {pid} could not be killed: {ex.Message}");
            return null;
        }
    }

    public static void Print(RequestTimeline timeline, TimeSpan killedAt)
    {
        var kill = killedAt.TotalMilliseconds;
        var ends = timeline.StartMs.Select((start, i) => start + timeline.DurationMs[i]).ToArray();
        double Rate(double fromMs, double toMs) => ends.Count(end => end >= fromMs && end < toMs) / ((toMs - fromMs) / 1000);

        var before = Rate(Math.Max(0, kill - BeforeKill.TotalMilliseconds), kill);
        var last = ends.Length == 0 ? kill : ends.Max();
        double? dip = null;
        double? recovered = null;
        for (var t = kill; t + RateWindow.TotalMilliseconds <= last; t += Step.TotalMilliseconds)
        {
            var rate = Rate(t, t + RateWindow.TotalMilliseconds);
            if (dip is null && rate < before * RecoveredShare)
            {
                dip = t;
            }
            else if (dip is not null && rate >= before * RecoveredShare)
            {
                recovered = t;
                break;
            }
        }

        Console.WriteLine(dip is null
            ? $"recovery:           throughput never fell below {RecoveredShare:P0} of the {before:F1} checkouts/s before the kill"
            : recovered is { } back
                ? $"recovery:           {(back - kill) / 1000:F1} s after the kill throughput was back above {RecoveredShare:P0} of the {before:F1} checkouts/s before it"
                : $"recovery:           throughput stayed below {RecoveredShare:P0} of the {before:F1} checkouts/s before the kill until the end");

        // The checkouts in flight at any moment between the kill and a second after the recovery.
        var until = (recovered ?? last) + RateWindow.TotalMilliseconds;
        var during = timeline.StartMs.Select((start, i) => (Start: start, End: ends[i], Duration: timeline.DurationMs[i]))
            .Where(request => request.Start < until && request.End > kill)
            .Select(request => request.Duration).Order().ToArray();
        if (during.Length > 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"during the failover: {during.Length} checkouts in flight, p50 {RequestBatch.Percentile(during, 50):F1}  p99 {RequestBatch.Percentile(during, 99):F1}  max {during[^1]:F1} ms, {during.Count(ms => ms > SlowMs)} over {SlowMs / 1000:F0} s"));
        }

        Console.WriteLine($"checkouts answered per second from 2 s before the kill: {PerSecond(ends, kill - 2000, until + 2000)}");
    }

    private static string PerSecond(double[] ends, double fromMs, double toMs)
    {
        var text = new StringBuilder();
        for (var t = Math.Max(0, fromMs); t < toMs; t += 1000)
        {
            text.Append(text.Length == 0 ? "" : " ").Append(ends.Count(end => end >= t && end < t + 1000));
        }

        return text.ToString();
    }
}
