using Npgsql;
using NpgsqlTypes;
using Payments.Reconciliation.SettlementReports;

namespace Payments.Reconciliation.Staging;

/// <summary>
/// Streams a settlement report's rows into <c>settlement_lines</c> with a binary <c>COPY</c>: one row in memory at a
/// time, whatever the file's size. Runs in the caller's transaction, which must commit only after the enumeration has
/// finished (a malformed row shows only when it is reached).
/// </summary>
public static class SettlementStaging
{
    private const string Copy = """
        COPY settlement_lines (run_id, line_no, balance_transaction_id, created_utc, available_on_utc, currency, gross, fee, net,
                               reporting_category, source_id, payment_intent_id, automatic_payout_id, payment_order_id)
        FROM STDIN (FORMAT BINARY)
        """;

    /// <returns>The number of rows staged.</returns>
    public static async Task<long> CopyAsync(NpgsqlConnection connection, string runId, IAsyncEnumerable<SettlementLine> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(lines);
        long count = 0;
        await using var importer = await connection.BeginBinaryImportAsync(Copy, cancellationToken).ConfigureAwait(false);
        await foreach (var line in lines.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(runId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(line.LineNumber, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(line.BalanceTransactionId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(line.CreatedUtc, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
            await StagingValues.WriteAsync(importer, line.AvailableOnUtc, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(line.Currency, NpgsqlDbType.Char, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(line.Gross, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(line.Fee, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(line.Net, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(line.ReportingCategory, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await StagingValues.WriteAsync(importer, line.SourceId, cancellationToken).ConfigureAwait(false);
            await StagingValues.WriteAsync(importer, line.PaymentIntentId, cancellationToken).ConfigureAwait(false);
            await StagingValues.WriteAsync(importer, line.AutomaticPayoutId, cancellationToken).ConfigureAwait(false);
            await StagingValues.WriteAsync(importer, line.PaymentOrderId, cancellationToken).ConfigureAwait(false);
            count++;
        }

        await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        return count;
    }
}
