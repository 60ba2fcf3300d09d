using Npgsql;

namespace Payments.Api.Webhooks;

/// <summary>The durable record of PSP webhook events, by event id: the deduplication of redeliveries.</summary>
public sealed class WebhookEventStore(NpgsqlDataSource database)
{
    /// <summary>Records the event; false when it was received and fully processed before.</summary>
    public async Task<bool> BeginAsync(string eventId, string type, string? paymentOrderId, string payload, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            WITH inserted AS (
                INSERT INTO webhook_events (event_id, type, payment_order_id, payload) VALUES ($1, $2, $3, $4)
                ON CONFLICT (event_id) DO NOTHING
                RETURNING processed_at)
            SELECT EXISTS (SELECT 1 FROM inserted)
                OR EXISTS (SELECT 1 FROM webhook_events WHERE event_id = $1 AND processed_at IS NULL)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = eventId });
        command.Parameters.Add(new NpgsqlParameter { Value = type });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)paymentOrderId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = payload });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task CompleteAsync(string eventId, string outcome, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("UPDATE webhook_events SET processed_at = now(), outcome = $2 WHERE event_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = eventId });
        command.Parameters.Add(new NpgsqlParameter { Value = outcome });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
