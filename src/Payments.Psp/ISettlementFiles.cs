namespace Payments.Psp;

/// <summary>
/// The files reconciliation reads: what the PSP says it settled, and what the bank says arrived. Each is handed over as a
/// stream straight off the wire, for the caller to read as it goes (a busy day's report has millions of rows).
/// </summary>
public interface ISettlementFiles
{
    /// <summary>
    /// The PSP's itemized payout reconciliation report (<c>payout_reconciliation.itemized.5</c>) of one UTC day, as a
    /// CSV stream. Throws <see cref="SettlementFileUnavailableException"/> when it cannot be had.
    /// </summary>
    Task<Stream> OpenSettlementReportAsync(DateOnly day, CancellationToken cancellationToken);

    /// <summary>
    /// The bank's camt.053 statement of the platform's account for one day, as an XML stream. Throws
    /// <see cref="SettlementFileUnavailableException"/> when it cannot be had.
    /// </summary>
    Task<Stream> OpenBankStatementAsync(DateOnly day, CancellationToken cancellationToken);
}
