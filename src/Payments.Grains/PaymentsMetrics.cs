using System.Diagnostics.Metrics;

namespace Payments.Grains;

/// <summary>
/// What the money grains count, on the meter <c>Payments</c> (exported with the rest when telemetry is on): orders and payouts
/// by how they ended, retries of PSP calls whose outcome was unknown, and what was parked for an operator. Counted when the
/// state changes in memory, just before it is written: a write that fails and is retried may count a step twice.
/// </summary>
internal static class PaymentsMetrics
{
    public const string MeterName = "Payments";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> OrdersFinished = Meter.CreateCounter<long>(
        "payments.orders.finished", unit: "{order}", description: "Payment orders that reached SUCCESS or FAILED, by outcome.");

    public static readonly Counter<long> PayoutsFinished = Meter.CreateCounter<long>(
        "payments.payouts.finished", unit: "{payout}", description: "Payouts that were paid, failed, or returned after they were paid, by outcome.");

    public static readonly Counter<long> PspRetries = Meter.CreateCounter<long>(
        "payments.psp.retries", unit: "{retry}", description: "PSP calls asked again because their outcome was unknown, by operation.");

    public static readonly Counter<long> DeadLettersParked = Meter.CreateCounter<long>(
        "payments.dead_letters.parked", unit: "{dead_letter}", description: "Payment orders and payouts parked for an operator, by subject and stage.");

    /// <summary>An alarm: a ledger external id asked for again with other content than it was booked with (nothing was written).</summary>
    public static readonly Counter<long> LedgerConflicts = Meter.CreateCounter<long>(
        "payments.ledger.conflicts", unit: "{transaction}", description: "Ledger appends refused because their external id is booked with other content, by kind.");
}
