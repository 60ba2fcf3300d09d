using Npgsql;

namespace Payments.Api.Webhooks;

/// <summary>
/// The durable record of PSP webhook events, by event id: the deduplication of redeliveries. An event is recorded
/// once it has been handled; dying in between only means the PSP redelivers it and it is handled again, which
/// changes nothing, because applying an event to a payment order (or payout) is idempotent. For the same reason a
/// redelivery is not looked up first: it is applied again (a no-op) and its record, refused as a duplicate, says so
/// — one statement per event instead of two.
/// </summary>
public sealed class WebhookEventStore(NpgsqlDataSource database)
{
    /// <summary>Records the handled event; false when it was recorded before (a redelivery).</summary>
    public async Task<bool> RecordAsync(string eventId, string type, string? paymentOrderId, string payload, string outcome, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO webhook_events (event_id, type, payment_order_id, payload, processed_at, outcome)
            VALUES ($1, $2, $3, $4, now(), $5)
            ON CONFLICT (event_id) DO NOTHING
            RETURNING 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = eventId });
        command.Parameters.Add(new NpgsqlParameter { Value = type });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)paymentOrderId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = payload });
        command.Parameters.Add(new NpgsqlParameter { Value = outcome });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }
}
