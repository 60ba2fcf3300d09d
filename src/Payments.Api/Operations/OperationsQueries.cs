using Npgsql;

namespace Payments.Api.Operations;

public sealed record DeadLetterRow(string PaymentOrderId, string MerchantId, string Stage, int Attempts, string LastError, DateTime ParkedAt, int ReplayCount);

/// <summary>Read-side SQL for operators: dead letters, and the payment orders that still have work owed.</summary>
public sealed class OperationsQueries(NpgsqlDataSource database)
{
    public const int PageMax = 1000;

    public async Task<IReadOnlyList<DeadLetterRow>> ParkedDeadLettersAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT payment_order_id, merchant_id, stage, attempts, last_error, parked_at, replay_count
            FROM dead_letters WHERE status = 'parked' ORDER BY parked_at, payment_order_id LIMIT {PageMax}
            """);
        var rows = new List<DeadLetterRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new DeadLetterRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetString(4),
                DateTime.SpecifyKind(reader.GetDateTime(5), DateTimeKind.Utc), reader.GetInt32(6)));
        }

        return rows;
    }

    public async Task<bool> IsParkedAsync(string paymentOrderId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT 1 FROM dead_letters WHERE payment_order_id = $1 AND status = 'parked'");
        command.Parameters.Add(new NpgsqlParameter { Value = paymentOrderId });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>
    /// Every payment order that still has work owed (not final, or effects not applied, or parked): exactly the
    /// orders holding the durable "drive" reminder, which an order drops once it is done.
    /// </summary>
    public async Task<IReadOnlyList<string>> PaymentOrdersWithWorkOwedAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT DISTINCT substring(grain_id FROM position('/' IN grain_id) + 1)
            FROM orleans_reminder
            WHERE reminder_name = 'drive' AND grain_id LIKE 'paymentorder/%'
            LIMIT {PageMax}
            """);
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }
}
