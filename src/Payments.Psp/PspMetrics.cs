using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Payments.Psp;

/// <summary>How long PSP calls take, on the meter <c>Payments</c>, by operation and by how they ended.</summary>
internal static class PspMetrics
{
    private static readonly Meter Meter = new("Payments");

    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        "payments.psp.duration", unit: "s", description: "PSP calls, from request to answer (or timeout), by operation and result.");

    public static void Record(string operation, string result, long startedAt) =>
        Duration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, new("operation", operation), new("result", result));
}
