using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Payments.Core.Ledger;

namespace Payments.Grains.Ledger;

/// <summary>
/// Appends balanced transactions to the SQL ledger, batching concurrent appends into one database
/// transaction. Reentrant so that appends queue up while a batch is being written; this is safe because
/// the database, not this grain, guards the money: the unique external id makes a retried append a no-op,
/// and the deferred trigger refuses an unbalanced transaction. An external id booked already is compared by content
/// (<see cref="LedgerContent"/>): a retry is <see cref="AppendOutcome.AlreadyExists"/>, but the id reused for another
/// movement is <see cref="AppendOutcome.ExistsWithDifferentContent"/> and an alarm, since answering "booked" would lose it silently.
/// </summary>
[Reentrant]
internal sealed class LedgerWriterGrain(NpgsqlDataSource database, ILogger<LedgerWriterGrain> logger) : Grain, ILedgerWriterGrain
{
    private const int BatchSizeMax = 256;

    // Inserts the transaction and its entries in one statement; no row when the external id is booked already.
    private const string AppendSql = """
        WITH booked AS (
            INSERT INTO ledger_transactions (external_id, kind, payment_order_id, psp_reference)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (external_id) DO NOTHING
            RETURNING transaction_id)
        INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency)
        SELECT booked.transaction_id, entry.account, entry.direction, entry.amount, entry.currency
        FROM booked, unnest($5::text[], $6::text[], $7::bigint[], $8::text[]) AS entry(account, direction, amount, currency)
        """;

    // What is stored under the external ids that were booked already: read only for those, once per batch.
    private const string StoredSql = """
        SELECT t.external_id, t.kind, t.payment_order_id, t.psp_reference, e.account, e.direction, e.amount, e.currency::text
        FROM ledger_transactions t
        JOIN ledger_entries e ON e.transaction_id = t.transaction_id
        WHERE t.external_id = ANY($1)
        """;

    private readonly List<PendingAppend> _pending = [];
    private bool _flushing;

    public Task<AppendResult> AppendAsync(LedgerTransaction transaction)
    {
        transaction.AssertBalanced();
        var pending = new PendingAppend(transaction, new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        _pending.Add(pending);
        if (!_flushing)
        {
            _flushing = true;
            _ = FlushAsync();
        }

        return pending.Completion.Task;
    }

    private async Task FlushAsync()
    {
        try
        {
            while (_pending.Count > 0)
            {
                var batch = _pending.Take(BatchSizeMax).ToArray();
                _pending.RemoveRange(0, batch.Length);
                await WriteBatchAsync(batch);
            }
        }
        finally
        {
            _flushing = false;
        }
    }

    private async Task WriteBatchAsync(PendingAppend[] batch)
    {
        try
        {
            var (results, conflicts) = await WriteInOneTransactionAsync(batch);
            // Raised once the batch is committed: a batch that fails is written again one by one and would alarm twice.
            foreach (var (asked, stored) in conflicts)
            {
                PaymentsMetrics.LedgerConflicts.Add(1, new KeyValuePair<string, object?>("kind", asked.Kind));
                logger.LogError("Ledger transaction {ExternalId} is booked already with other content; nothing written. Asked: {Asked}. Stored: {Stored}",
                    asked.ExternalId, LedgerContent.Of(asked).Summary(), stored.Summary());
            }

            for (var i = 0; i < batch.Length; i++)
            {
                batch[i].Completion.SetResult(results[i]);
            }
        }
        catch (Exception batchFailure) when (batch.Length > 1)
        {
            // One bad transaction must not sink its neighbours: write each on its own to find it.
            logger.LogWarning(batchFailure, "Ledger batch of {Count} failed; writing them one by one", batch.Length);
            foreach (var append in batch)
            {
                await WriteBatchAsync([append]);
            }
        }
        catch (Exception failure)
        {
            batch[0].Completion.SetException(failure);
        }
    }

    private async Task<(AppendResult[] Results, List<(LedgerTransaction Asked, LedgerContent Stored)> Conflicts)> WriteInOneTransactionAsync(PendingAppend[] batch)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var commands = new NpgsqlBatch(connection, transaction);
        foreach (var append in batch)
        {
            var ledgerTransaction = append.Transaction;
            var command = new NpgsqlBatchCommand(AppendSql);
            command.Parameters.Add(new NpgsqlParameter { Value = ledgerTransaction.ExternalId });
            command.Parameters.Add(new NpgsqlParameter { Value = ledgerTransaction.Kind });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)ledgerTransaction.PaymentOrderId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)ledgerTransaction.PspReference ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = ledgerTransaction.Entries.Select(e => e.Account).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = ledgerTransaction.Entries.Select(e => e.Direction == EntryDirection.Debit ? "debit" : "credit").ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = ledgerTransaction.Entries.Select(e => e.Amount.Minor).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = ledgerTransaction.Entries.Select(e => e.Amount.Currency.Code).ToArray() });
            commands.BatchCommands.Add(command);
        }

        await commands.ExecuteNonQueryAsync();
        var results = new AppendResult[batch.Length];
        var conflicts = new List<(LedgerTransaction Asked, LedgerContent Stored)>();
        var booked = Enumerable.Range(0, batch.Length).Where(i => commands.BatchCommands[i].RecordsAffected == 0).ToArray();
        var stored = booked.Length == 0 ? [] : await ReadStoredAsync(connection, transaction, booked.Select(i => batch[i].Transaction.ExternalId).Distinct().ToArray());
        for (var i = 0; i < batch.Length; i++)
        {
            var asked = batch[i].Transaction;
            if (commands.BatchCommands[i].RecordsAffected > 0)
            {
                results[i] = new AppendResult(AppendOutcome.Appended);
            }
            else if (stored[asked.ExternalId].SameAs(LedgerContent.Of(asked)))
            {
                results[i] = new AppendResult(AppendOutcome.AlreadyExists);
            }
            else
            {
                results[i] = new AppendResult(AppendOutcome.ExistsWithDifferentContent, stored[asked.ExternalId].Summary());
                conflicts.Add((asked, stored[asked.ExternalId]));
            }
        }

        await transaction.CommitAsync();
        return (results, conflicts);
    }

    private static async Task<Dictionary<string, LedgerContent>> ReadStoredAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string[] externalIds)
    {
        await using var command = new NpgsqlCommand(StoredSql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = externalIds });
        var rows = new List<(string ExternalId, string Kind, string? PaymentOrderId, string? PspReference, LedgerContent.Entry Entry)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                    new LedgerContent.Entry(reader.GetString(4), reader.GetString(5), reader.GetInt64(6), reader.GetString(7))));
            }
        }

        // Every booked transaction has entries (the balance trigger sees to it), so each id asked for is here.
        return rows.GroupBy(row => row.ExternalId, StringComparer.Ordinal).ToDictionary(
            group => group.Key,
            group => new LedgerContent(group.First().Kind, group.First().PaymentOrderId, group.First().PspReference, group.Select(row => row.Entry).ToArray()),
            StringComparer.Ordinal);
    }

    private sealed record PendingAppend(LedgerTransaction Transaction, TaskCompletionSource<AppendResult> Completion);
}
