using System.Globalization;

namespace Payments.LoadTest;

/// <summary>What one pay-in run measured that issue 11's targets are about; null where it was not measured.</summary>
internal sealed record RunFigures(
    int Concurrency,
    int OrdersPerCheckout,
    double OrdersPerSecond,
    double P50Ms,
    double P99Ms,
    double? Ratio,
    double? CommitsPerOrder,
    double? RssChangePercent,
    bool RssFlatnessAsked);

/// <summary>
/// The performance targets that apply to a run's shape, each with this run's figure and whether it met it. Each target
/// belongs to one shape (p99 under load, p50 alone, throughput of big checkouts), so a run lists only its own: a p50
/// target judged at concurrency 64 would be meaningless. A report only: the bench's exit code stays about correctness.
/// </summary>
internal static class TargetsReport
{
    public const double RatioMin = 0.20;
    public const double LoadedP99MaxMs = 150;
    public const double AloneP50MaxMs = 8;
    public const double BigCheckoutOrdersPerSecondMin = 2000;
    public const double CommitsPerOrderMax = 6;

    /// <summary>"Under load" from this many workers on; the ratio and p99 targets are set for it.</summary>
    public const int LoadedConcurrencyMin = 64;

    /// <summary>"Big checkouts" from this many orders each on; the throughput target is set for them.</summary>
    public const int BigCheckoutOrdersMin = 10;

    public static IReadOnlyList<Target> For(RunFigures run)
    {
        var targets = new List<Target>();
        if (run.Concurrency >= LoadedConcurrencyMin && run.OrdersPerCheckout == 1)
        {
            targets.Add(new Target($"ratio orders/s / pgbench tps >= {RatioMin:F2}", run.Ratio, run.Ratio >= RatioMin, "F3", ""));
            targets.Add(new Target($"p99 <= {LoadedP99MaxMs:F0} ms", run.P99Ms, run.P99Ms <= LoadedP99MaxMs, "F1", " ms"));
        }

        if (run.Concurrency == 1)
        {
            targets.Add(new Target($"p50 <= {AloneP50MaxMs:F0} ms", run.P50Ms, run.P50Ms <= AloneP50MaxMs, "F1", " ms"));
        }

        if (run.OrdersPerCheckout >= BigCheckoutOrdersMin)
        {
            targets.Add(new Target($"orders/s >= {BigCheckoutOrdersPerSecondMin:F0}", run.OrdersPerSecond,
                run.OrdersPerSecond >= BigCheckoutOrdersPerSecondMin, "F1", ""));
        }

        targets.Add(new Target($"commits per order <= {CommitsPerOrderMax:F0}", run.CommitsPerOrder,
            run.CommitsPerOrder <= CommitsPerOrderMax, "F1", ""));
        if (run.RssFlatnessAsked)
        {
            targets.Add(new Target($"server RSS change within +-{RssMilestones.FlatPercentMax:F0} %", run.RssChangePercent,
                run.RssChangePercent is { } change && Math.Abs(change) <= RssMilestones.FlatPercentMax, "+0.0;-0.0;0.0", " %"));
        }

        return targets;
    }

    public static void Print(RunFigures run)
    {
        var targets = For(run);
        var met = targets.Count(t => t.Met);
        Console.WriteLine($"targets:            {met} of {targets.Count} met (for this shape: concurrency {run.Concurrency}, "
            + $"{run.OrdersPerCheckout} order{(run.OrdersPerCheckout == 1 ? "" : "s")} per checkout; a report, not part of the result)");
        var width = targets.Max(t => t.Name.Length);
        foreach (var target in targets)
        {
            var verdict = target.Value is null ? "not measured" : target.Met ? "met" : "MISSED";
            Console.WriteLine($"  {target.Name.PadRight(width)}  {target.Shown,10}  {verdict}");
        }
    }
}

/// <summary>One target: its name with its bound, this run's figure (null: not measured) and whether it met the bound.</summary>
internal sealed record Target(string Name, double? Value, bool Met, string Format, string Unit)
{
    public string Shown => Value is { } value ? value.ToString(Format, CultureInfo.InvariantCulture) + Unit : "-";
}
