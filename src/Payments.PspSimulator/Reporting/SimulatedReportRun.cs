namespace Payments.PspSimulator.Reporting;

/// <summary>
/// A run of Stripe's <c>payout_reconciliation.itemized.5</c> report (<c>frrun_...</c>) and its file (<c>file_...</c>).
/// Made <c>pending</c>; succeeds when first looked at, when it fixes the moment it reports <see cref="AsOf"/>, so its
/// file reads the same every time it is downloaded (and <see cref="Size"/> stays true).
/// </summary>
public sealed record SimulatedReportRun
{
    public required string Id { get; init; }

    public required string FileId { get; init; }

    public required string ReportType { get; init; }

    /// <summary>Unix seconds, inclusive: balance transactions created from then on.</summary>
    public required long IntervalStart { get; init; }

    /// <summary>Unix seconds, exclusive.</summary>
    public required long IntervalEnd { get; init; }

    /// <summary>The columns asked for (<c>parameters[columns][]</c>), or null for the default ones.</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>Unix seconds, on the simulator's clock.</summary>
    public required long Created { get; init; }

    /// <summary><c>pending</c> or <c>succeeded</c>.</summary>
    public required string Status { get; init; }

    /// <summary>Unix seconds, on the simulator's clock: the state the file shows (balance transactions and payouts made by then).</summary>
    public long? AsOf { get; init; }

    /// <summary>The file's size in bytes, once it succeeded.</summary>
    public long? Size { get; init; }

    /// <summary>The settlement faults set when the run was made (<c>/_sim/settlement_faults</c>), or null.</summary>
    public SettlementFaultProfile? Faults { get; init; }
}
