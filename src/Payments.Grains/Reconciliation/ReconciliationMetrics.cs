using System.Diagnostics.Metrics;

namespace Payments.Grains.Reconciliation;

/// <summary>The reconciliation counters: breaks filed, by source, kind and class.</summary>
internal static class ReconciliationMetrics
{
    public const string MeterName = "Payments.Reconciliation";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> BreaksFiled = Meter.CreateCounter<long>(
        "payments.reconciliation.breaks_filed", unit: "{break}", description: "Reconciliation breaks filed (each once), by source, kind and class.");
}
