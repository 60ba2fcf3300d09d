using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace Payments.LoadTest;

/// <summary>
/// Books the run's pay-ins straight into the ledger with binary COPY, in one transaction, as the payment orders would
/// have (<c>payin:&lt;order&gt;</c>, kind <c>payin</c>, the payment intent as PSP reference; debit
/// <c>psp_receivable:stripe</c>, credit <c>seller_payable:&lt;seller&gt;:pending</c>): the database's deferred trigger checks
/// each transaction balances at commit. Then vacuums and analyzes the ledger, as autovacuum would soon after such a load,
/// and checkpoints, so that neither lands in the middle of the measurement.
/// </summary>
internal static class LedgerSeeder
{
    public static async Task<SeedTimings> SeedAsync(string connectionString, SettlementBenchData data, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var copyClock = Stopwatch.StartNew();
        long first;
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            // COPY writes identity columns as given: reserve a block of ids first. No one else inserts while the lock is
            // held, so the block is contiguous.
            await ExecuteAsync(connection, "LOCK TABLE ledger_transactions IN SHARE ROW EXCLUSIVE MODE", cancellationToken);
            await using (var reserve = new NpgsqlCommand(
                "SELECT setval(pg_get_serial_sequence('ledger_transactions', 'transaction_id'), nextval(pg_get_serial_sequence('ledger_transactions', 'transaction_id')) + $1 - 1)",
                connection))
            {
                reserve.Parameters.Add(new NpgsqlParameter<long> { TypedValue = data.Count });
                var last = (long)(await reserve.ExecuteScalarAsync(cancellationToken))!;
                first = last - data.Count + 1;
            }

            await using (var transactions = await connection.BeginBinaryImportAsync(
                "COPY ledger_transactions (transaction_id, external_id, kind, payment_order_id, psp_reference, created_at) FROM STDIN (FORMAT BINARY)",
                cancellationToken))
            {
                for (var i = 0; i < data.Count; i++)
                {
                    var order = data.PaymentOrderId(i);
                    transactions.StartRow();
                    transactions.Write(first + i, NpgsqlDbType.Bigint);
                    transactions.Write("payin:" + order, NpgsqlDbType.Text);
                    transactions.Write("payin", NpgsqlDbType.Text);
                    transactions.Write(order, NpgsqlDbType.Text);
                    transactions.Write(data.PaymentIntentId(i), NpgsqlDbType.Text);
                    transactions.Write(data.CreatedUtc(i), NpgsqlDbType.TimestampTz);
                }

                await transactions.CompleteAsync(cancellationToken);
            }

            await using (var entries = await connection.BeginBinaryImportAsync(
                "COPY ledger_entries (transaction_id, account, direction, amount, currency) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                for (var i = 0; i < data.Count; i++)
                {
                    var amount = SettlementBenchData.AmountMinor(i);
                    entries.StartRow();
                    entries.Write(first + i, NpgsqlDbType.Bigint);
                    entries.Write(SettlementBenchData.Receivable, NpgsqlDbType.Text);
                    entries.Write("debit", NpgsqlDbType.Text);
                    entries.Write(amount, NpgsqlDbType.Bigint);
                    entries.Write("USD", NpgsqlDbType.Char);
                    entries.StartRow();
                    entries.Write(first + i, NpgsqlDbType.Bigint);
                    entries.Write(data.SellerPending(i), NpgsqlDbType.Text);
                    entries.Write("credit", NpgsqlDbType.Text);
                    entries.Write(amount, NpgsqlDbType.Bigint);
                    entries.Write("USD", NpgsqlDbType.Char);
                }

                await entries.CompleteAsync(cancellationToken);
            }

            copyClock.Stop();
            var commitClock = Stopwatch.StartNew();
            // The deferred balance checks run now, one per row copied.
            await transaction.CommitAsync(cancellationToken);
            commitClock.Stop();
            var vacuumClock = Stopwatch.StartNew();
            await ExecuteAsync(connection, "VACUUM (ANALYZE) ledger_transactions", cancellationToken);
            await ExecuteAsync(connection, "VACUUM (ANALYZE) ledger_entries", cancellationToken);
            await ExecuteAsync(connection, "CHECKPOINT", cancellationToken);
            return new SeedTimings(first, copyClock.Elapsed, commitClock.Elapsed, vacuumClock.Elapsed);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>How the seeding went: the first transaction id of the block, and how long each step took.</summary>
internal sealed record SeedTimings(long FirstTransactionId, TimeSpan Copy, TimeSpan Commit, TimeSpan VacuumAnalyze);
