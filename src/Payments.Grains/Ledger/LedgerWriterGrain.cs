using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Payments.Core.Ledger;

namespace Payments.Grains.Ledger;

/// <summary>
/// Appends balanced transactions to the SQL ledger, batching concurrent appends into one database
/// transaction. Reentrant so that appends queue up while a batch is being written; this is safe because
/// the database, not this grain, guards the money: the unique external id makes a retried append a no-op,
/// and the deferred trigger refuses an unbalanced transaction.
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
            var outcomes = await WriteInOneTransactionAsync(batch);
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i].Completion.SetResult(new AppendResult(outcomes[i]));
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

    private async Task<AppendOutcome[]> WriteInOneTransactionAsync(PendingAppend[] batch)
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
        await transaction.CommitAsync();
        return commands.BatchCommands
            .Select((NpgsqlBatchCommand command) => command.RecordsAffected > 0 ? AppendOutcome.Appended : AppendOutcome.AlreadyExists)
            .ToArray();
    }

    private sealed record PendingAppend(LedgerTransaction Transaction, TaskCompletionSource<AppendResult> Completion);
}
