using Npgsql;
using NpgsqlTypes;
using Payments.Reconciliation.BankStatements;

namespace Payments.Reconciliation.Staging;

/// <summary>
/// Streams a camt.053 file's entries into <c>bank_statement_entries</c> with a binary <c>COPY</c>, one entry in memory at
/// a time. An entry is matched by the references we put on our transfers: the bank's reference (AcctSvcrRef, of the
/// entry or of its first transaction) and the end-to-end id of its first transaction. Runs in the caller's transaction,
/// which must commit only after the enumeration has finished (a malformed entry shows only when it is reached).
/// </summary>
public static class BankStaging
{
    private const string Copy = """
        COPY bank_statement_entries (run_id, entry_no, statement_id, account, own_account, currency, amount, status, booking_date,
                                     account_reference, end_to_end_id, remittance)
        FROM STDIN (FORMAT BINARY)
        """;

    /// <param name="ownAccount">Our account's id (IBAN or other); entries of other accounts are staged as not ours.</param>
    /// <returns>The number of entries staged.</returns>
    public static async Task<long> CopyAsync(NpgsqlConnection connection, string runId, Camt053Reader statement, string ownAccount, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(statement);
        var entryNumber = 0;
        await using var importer = await connection.BeginBinaryImportAsync(Copy, cancellationToken).ConfigureAwait(false);
        await foreach (var entry in statement.ReadEntriesAsync(cancellationToken).ConfigureAwait(false))
        {
            var transaction = entry.Transactions.Count > 0 ? entry.Transactions[0] : null;
            var account = entry.Statement.Account.Value;
            await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(runId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(++entryNumber, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(entry.Statement.Id, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(account, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(string.Equals(account.Replace(" ", string.Empty, StringComparison.Ordinal), ownAccount, StringComparison.OrdinalIgnoreCase),
                NpgsqlDbType.Boolean, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(entry.Amount.Currency.Code, NpgsqlDbType.Char, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(entry.SignedMinor, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await StagingValues.WriteAsync(importer, entry.Status, cancellationToken).ConfigureAwait(false);
            await StagingValues.WriteAsync(importer, entry.BookingDate is { } booked ? DateOnly.FromDateTime(booked.UtcDateTime) : null, cancellationToken).ConfigureAwait(false);
            await StagingValues.WriteAsync(importer, entry.AccountServicerReference ?? transaction?.AccountServicerReference, cancellationToken).ConfigureAwait(false);
            await StagingValues.WriteAsync(importer, transaction?.EndToEndId, cancellationToken).ConfigureAwait(false);
            await StagingValues.WriteAsync(importer, transaction is { UnstructuredRemittance.Count: > 0 } ? string.Join(' ', transaction.UnstructuredRemittance) : null, cancellationToken)
                .ConfigureAwait(false);
        }

        await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        return entryNumber;
    }
}
