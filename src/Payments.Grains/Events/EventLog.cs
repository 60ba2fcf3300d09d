using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Payments.Database.Batching;

namespace Payments.Grains.Events;

/// <summary>
/// The merchant's event log in PostgreSQL. A grain writes what it owes after its state holds the change (a checkout its
/// completion once the last order told it, under an id made from the checkout's); each new event
/// gets a delivery to the merchant's webhook endpoint, if one is set for its type, in the same statement. Appends go
/// through a statement queue of their own: many grains' appends commit together.
/// </summary>
public sealed class EventLog(NpgsqlDataSource database, ILoggerFactory loggers) : IAsyncDisposable
{
    // Appends of many grains share a round trip and a commit: one merchant's appends are serialized by its lock (below),
    // and sent one at a time each would wait for the previous one's commit.
    private readonly StatementQueue _appends = new(database, groupSizeMax: 128, loops: 2, loggers.CreateLogger<EventLog>(),
        lockOrder: append => ((EventAppend)append).MerchantId);

    /// <summary>
    /// Writes the events in their order (one statement, so together or not at all); those written before are left as they
    /// were. Answers whether any new delivery is owed, so the caller knows to wake the merchant's notifier.
    /// </summary>
    internal async Task<bool> AppendAsync(string merchantId, IReadOnlyList<OwedEvent> events)
    {
        var append = new EventAppend(merchantId, events);
        await _appends.EnqueueAsync(append);
        return append.DeliveriesOwed;
    }

    public ValueTask DisposeAsync() => _appends.DisposeAsync();

    private sealed class EventAppend(string merchantId, IReadOnlyList<OwedEvent> events) : QueuedStatement
    {
        public string MerchantId => merchantId;

        public bool DeliveriesOwed { get; private set; }

        public override IEnumerable<NpgsqlBatchCommand> Commands()
        {
            // One merchant's events commit one after another (the lock is the transaction's, and taken again by the same
            // transaction at no cost): positions in the log are taken in commit order, so a reader paging with
            // starting_after never passes an event that commits later with a lower one.
            var lockCommand = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 8))");
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = merchantId });
            var command = new NpgsqlBatchCommand("""
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
            return [lockCommand, command];
        }

        public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
        {
            await reader.NextResultAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            DeliveriesOwed = reader.GetInt64(0) > 0;
        }
    }
}
