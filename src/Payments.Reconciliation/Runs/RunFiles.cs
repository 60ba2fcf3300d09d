using Npgsql;
using Payments.Reconciliation.BankStatements;
using Payments.Reconciliation.SettlementReports;
using Payments.Reconciliation.Staging;

namespace Payments.Reconciliation.Runs;

/// <summary>A run's file, read as a stream into its staging table: the PSP's CSV report, or the bank's camt.053 statement.</summary>
public static class RunFiles
{
    /// <summary>
    /// Stages <paramref name="file"/> for the run in the connection's open transaction; returns the lines staged and the
    /// date the file speaks of (the latest day a row was created on, or the statement's creation day).
    /// </summary>
    /// <exception cref="InvalidSettlementReportException">A PSP report that cannot be read.</exception>
    /// <exception cref="InvalidStatementException">A bank statement that cannot be read.</exception>
    public static async Task<(long Lines, DateOnly? Date)> StageAsync(
        NpgsqlConnection connection, string runId, string source, Stream file, string ownBankAccount, CancellationToken cancellationToken)
    {
        if (source == ReconciliationSources.Psp)
        {
            var report = new SettlementReportReader(file);
            var lines = await SettlementStaging.CopyAsync(connection, runId, report.ReadLinesAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
            return (lines, report.LatestCreatedDay);
        }

        var statement = new Camt053Reader(file);
        var entries = await BankStaging.CopyAsync(connection, runId, statement, ownBankAccount, cancellationToken).ConfigureAwait(false);
        var created = statement.Statements.Count > 0 ? statement.Statements[0].CreatedAt : statement.Message?.CreatedAt;
        return (entries, created is { } at ? DateOnly.FromDateTime(at.UtcDateTime) : null);
    }
}
