using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace Payments.Api.Operations;

/// <param name="SubjectKind"><c>payment_order</c> or <c>payout</c>.</param>
public sealed record DeadLetterRow(string SubjectKind, string SubjectId, string MerchantId, string Stage, int Attempts, string LastError, DateTime ParkedAt, int ReplayCount);

/// <summary>Read-side SQL for operators: dead letters, and the payment orders that still have work owed.</summary>
public sealed class OperationsQueries(NpgsqlDataSource database, IOptions<ClusterOptions> cluster)
{
    public const int PageMax = 1000;

    public async Task<IReadOnlyList<DeadLetterRow>> ParkedDeadLettersAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT subject_kind, subject_id, merchant_id, stage, attempts, last_error, parked_at, replay_count
            FROM dead_letters WHERE status = 'parked' ORDER BY parked_at, subject_kind, subject_id LIMIT {PageMax}
            """);
        var rows = new List<DeadLetterRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new DeadLetterRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetString(5),
                DateTime.SpecifyKind(reader.GetDateTime(6), DateTimeKind.Utc), reader.GetInt32(7)));
        }

        return rows;
    }

    public async Task<bool> IsParkedAsync(string subjectKind, string subjectId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT 1 FROM dead_letters WHERE subject_kind = $1 AND subject_id = $2 AND status = 'parked'");
        command.Parameters.Add(new NpgsqlParameter { Value = subjectKind });
        command.Parameters.Add(new NpgsqlParameter { Value = subjectId });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>
    /// Every payment order that still has work owed (not final, or effects not applied, or parked): exactly the
    /// orders whose row holds a "drive" wake-up (sql/0011), which an order drops once it is done. Read page by page (keyset
    /// on the id, a stable order), so none is left out however many there are.
    /// </summary>
    public async Task<IReadOnlyList<string>> PaymentOrdersWithWorkOwedAsync(int pageSize, CancellationToken cancellationToken)
    {
        var paymentOrderIds = new List<string>();
        while (true)
        {
            await using var command = database.CreateCommand($"""
                SELECT wake_key COLLATE "C"
                FROM orleans_grain_state
                WHERE service_id = $3 AND grain_type = '{PaymentOrderStateName}' AND wake_reason = 'drive' AND wake_at IS NOT NULL
                  AND ($1::text IS NULL OR wake_key COLLATE "C" > $1::text COLLATE "C")
                ORDER BY 1
                LIMIT $2
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = paymentOrderIds.Count == 0 ? DBNull.Value : paymentOrderIds[^1], NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = pageSize });
            command.Parameters.Add(new NpgsqlParameter { Value = cluster.Value.ServiceId });
            var read = 0;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                paymentOrderIds.Add(reader.GetString(0));
                read++;
            }

            if (read < pageSize)
            {
                return paymentOrderIds;
            }
        }
    }

    /// <summary>
    /// One page of every payment order we hold, in a stable order (keyset on the id); <paramref name="after"/> is the last id of
    /// the page before. From the orders' stored grain state, so final orders (which hold no drive wake-up) are in it too.
    /// </summary>
    public async Task<IReadOnlyList<string>> PaymentOrderIdsPageAsync(string? after, int pageSize, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT grain_id_ext FROM orleans_grain_state
            WHERE grain_type = '{PaymentOrderStateName}' AND payload IS NOT NULL AND grain_id_ext IS NOT NULL
              AND ($1::text IS NULL OR grain_id_ext COLLATE "C" > $1::text COLLATE "C")
            ORDER BY grain_id_ext COLLATE "C"
            LIMIT $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = pageSize });
        return await ReadStringsAsync(command, cancellationToken);
    }

    /// <summary>Up to <paramref name="count"/> payment orders picked at random, for the invariants' sample.</summary>
    public async Task<IReadOnlyList<string>> SamplePaymentOrderIdsAsync(int count, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT grain_id_ext FROM orleans_grain_state
            WHERE grain_type = '{PaymentOrderStateName}' AND payload IS NOT NULL AND grain_id_ext IS NOT NULL
            ORDER BY random()
            LIMIT $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = count });
        return await ReadStringsAsync(command, cancellationToken);
    }

    /// <summary>Of <paramref name="paymentOrderIds"/>, those the ledger holds a pay-in for (the order is SUCCESS and booked).</summary>
    public async Task<HashSet<string>> BookedPayinsAsync(IReadOnlyCollection<string> paymentOrderIds, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT DISTINCT payment_order_id FROM ledger_transactions WHERE kind = 'payin' AND payment_order_id = ANY ($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = paymentOrderIds.ToArray() });
        return (await ReadStringsAsync(command, cancellationToken)).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Of <paramref name="paymentOrderIds"/>, those that still have work owed (their row holds a "drive" wake-up).</summary>
    public async Task<HashSet<string>> WithWorkOwedAsync(IReadOnlyCollection<string> paymentOrderIds, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT wake_key FROM orleans_grain_state
            WHERE service_id = $2 AND grain_type = '{PaymentOrderStateName}' AND wake_reason = 'drive' AND wake_at IS NOT NULL AND wake_key = ANY ($1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = paymentOrderIds.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = cluster.Value.ServiceId });
        return (await ReadStringsAsync(command, cancellationToken)).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// Of the charges of <paramref name="paymentOrderIds"/>, the PSP references the ledger booked as owed back to the buyer
    /// (<c>late_payment</c>: a hosted page paid after its order FAILED, refunded): charges accounted for, not lost.
    /// </summary>
    public async Task<HashSet<string>> LatePaymentReferencesAsync(IReadOnlyCollection<string> paymentOrderIds, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT DISTINCT psp_reference FROM ledger_transactions
            WHERE kind = 'late_payment' AND psp_reference IS NOT NULL AND payment_order_id = ANY ($1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = paymentOrderIds.ToArray() });
        return (await ReadStringsAsync(command, cancellationToken)).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>One page of the payment orders the ledger holds a pay-in for, in id order (keyset).</summary>
    public async Task<IReadOnlyList<string>> BookedPayinsPageAsync(string? after, int pageSize, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT DISTINCT payment_order_id COLLATE "C" FROM ledger_transactions
            WHERE kind = 'payin' AND payment_order_id IS NOT NULL AND ($1::text IS NULL OR payment_order_id COLLATE "C" > $1::text COLLATE "C")
            ORDER BY 1
            LIMIT $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = pageSize });
        return await ReadStringsAsync(command, cancellationToken);
    }

    /// <summary>The storage name of the payment order grain's state (its <c>PersistentState</c>).</summary>
    private const string PaymentOrderStateName = "paymentOrder";

    private static async Task<IReadOnlyList<string>> ReadStringsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}
