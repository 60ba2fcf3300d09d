using Npgsql;
using NpgsqlTypes;

namespace Payments.Grains.Events;

/// <summary>
/// The merchant's event log in PostgreSQL. A grain writes what it owes after its state holds the change; each new event
/// gets a delivery to the merchant's webhook endpoint, if one is set for its type, in the same statement.
/// </summary>
public sealed class EventLog(NpgsqlDataSource database)
{
    /// <summary>
    /// Writes the events in their order (one statement, so together or not at all); those written before are left as they
    /// were. Answers whether any new delivery is owed, so the caller knows to wake the merchant's notifier.
    /// </summary>
    internal async Task<bool> AppendAsync(string merchantId, IReadOnlyList<OwedEvent> events)
    {
        await using var command = database.CreateCommand("""
            WITH owed AS (
                SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[]) WITH ORDINALITY
                    AS owed (event_id, type, ordering_key, created_at, data, position)
            ),
            written AS (
                INSERT INTO events (event_id, merchant_id, type, ordering_key, created_at, data)
                SELECT event_id, $1, type, ordering_key, created_at, data FROM owed ORDER BY position
                ON CONFLICT (event_id) DO NOTHING
                RETURNING event_id, seq, type, ordering_key
            ),
            owed_deliveries AS (
                INSERT INTO webhook_deliveries (event_id, merchant_id, seq, ordering_key, next_attempt_at)
                SELECT written.event_id, $1, written.seq, written.ordering_key, now()
                FROM written JOIN webhook_endpoints endpoint ON endpoint.merchant_id = $1
                WHERE '*' = ANY (endpoint.events) OR written.type = ANY (endpoint.events)
                RETURNING 1
            )
            SELECT count(*) FROM owed_deliveries
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        command.Parameters.Add(new NpgsqlParameter { Value = events.Select(owed => owed.EventId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = events.Select(owed => owed.Type).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = events.Select(owed => owed.OrderingKey).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = events.Select(owed => owed.CreatedAt).ToArray() });
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = events.Select(owed => owed.Data ?? throw new InvalidOperationException($"Event {owed.EventId} was never rendered.")).ToArray(),
            NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb,
        });
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }
}
