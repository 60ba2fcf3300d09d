namespace Payments.Reconciliation.SettlementReports;

/// <summary>
/// The file is not a settlement report we can read: a column we need is missing from the header, or a row has no
/// balance transaction id, an unreadable time, a currency we do not know, or an amount that is not a whole number of its
/// currency's minor units. One type, so that the caller answers every case the same way and stores nothing.
/// </summary>
public sealed class InvalidSettlementReportException(string reason, long? lineNumber = null, Exception? innerException = null)
    : Exception(lineNumber is { } line ? $"Invalid settlement report: {reason.TrimEnd('.')} (data row {line})." : $"Invalid settlement report: {reason.TrimEnd('.')}.", innerException)
{
    public string Reason { get; } = reason;

    /// <summary>The 1-based data row, when the fault is in one.</summary>
    public long? LineNumber { get; } = lineNumber;
}
