using Npgsql;

namespace Payments.Grains.Events;

/// <summary>The merchant's endpoint and the deliveries it is owed, as the notifier reads and settles them.</summary>
public sealed class WebhookDeliveryStore(NpgsqlDataSource database)
{
    /// <summary>Of each ordering key of merchant <c>$1</c>, the earliest delivery still owed: the next one to send.</summary>
    private const string PendingHeads = """
        SELECT DISTINCT ON (ordering_key) event_id, next_attempt_at, seq
        FROM webhook_deliveries
        WHERE merchant_id = $1 AND status = 'pending'
        ORDER BY ordering_key, seq
        """;

    /// <summary>
    /// The heads due now, oldest first: of each key, the earliest delivery still owed, if its time has come. A key whose head
    /// waits out a backoff is skipped, so it holds up nobody else's.
    /// </summary>
    internal async Task<IReadOnlyList<OwedDelivery>> DueHeadsAsync(string merchantId, DateTimeOffset now, int limit)
    {
        await using var command = database.CreateCommand($$"""
            SELECT head.event_id, event.type, event.created_at, event.data::text, delivery.attempts, head.next_attempt_at
            FROM ({{PendingHeads}}) head
            JOIN webhook_deliveries delivery ON delivery.event_id = head.event_id
            JOIN events event ON event.event_id = head.event_id
            WHERE head.next_attempt_at <= $2
            ORDER BY head.seq
            LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var heads = new List<OwedDelivery>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            heads.Add(new OwedDelivery(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetFieldValue<DateTimeOffset>(2),
                reader.GetString(3),
                reader.GetInt32(4),
                reader.GetFieldValue<DateTimeOffset>(5)));
        }

        return heads;
    }

    /// <summary>When the next head falls due, or null when nothing is owed.</summary>
    internal async Task<DateTimeOffset?> NextHeadDueAsync(string merchantId)
    {
        await using var command = database.CreateCommand($$"""
            SELECT min(next_attempt_at) FROM ({{PendingHeads}}) head
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        return await command.ExecuteScalarAsync() is DateTime due ? new DateTimeOffset(due, TimeSpan.Zero) : null;
    }

    /// <summary>Nothing is owed to an endpoint that is gone (deleted while an event was being written, say).</summary>
    internal async Task CancelPendingAsync(string merchantId)
    {
        await using var command = database.CreateCommand("""
            UPDATE webhook_deliveries SET status = 'canceled'
            WHERE merchant_id = $1 AND status = 'pending' AND NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE merchant_id = $1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        await command.ExecuteNonQueryAsync();
    }

    internal async Task<WebhookEndpoint?> EndpointAsync(string merchantId, DateTimeOffset now)
    {
        await using var command = database.CreateCommand("""
            SELECT url, secret, CASE WHEN previous_secret_until > $2 THEN previous_secret END FROM webhook_endpoints WHERE merchant_id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new WebhookEndpoint(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2))
            : null;
    }

    /// <summary>The endpoint answered 2xx.</summary>
    internal async Task MarkDeliveredAsync(string eventId, int statusCode, DateTimeOffset at)
    {
        await using var command = database.CreateCommand("""
            UPDATE webhook_deliveries
            SET status = 'delivered', attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, $3), last_attempt_at = $3,
                last_status_code = $2, last_error = NULL, delivered_at = $3
            WHERE event_id = $1 AND status = 'pending'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = eventId });
        command.Parameters.Add(new NpgsqlParameter { Value = statusCode });
        command.Parameters.Add(new NpgsqlParameter { Value = at });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The attempt failed: try again at <paramref name="nextAttemptAt"/>, or give up when <paramref name="giveUp"/>.</summary>
    internal async Task MarkAttemptFailedAsync(string eventId, int? statusCode, string error, DateTimeOffset at, DateTimeOffset nextAttemptAt, bool giveUp)
    {
        await using var command = database.CreateCommand("""
            UPDATE webhook_deliveries
            SET status = CASE WHEN $6 THEN 'failed' ELSE 'pending' END, attempts = attempts + 1,
                first_attempt_at = coalesce(first_attempt_at, $4), last_attempt_at = $4, last_status_code = $2, last_error = $3, next_attempt_at = $5
            WHERE event_id = $1 AND status = 'pending'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = eventId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)statusCode ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = error.Length > 500 ? error[..500] : error });
        command.Parameters.Add(new NpgsqlParameter { Value = at });
        command.Parameters.Add(new NpgsqlParameter { Value = nextAttemptAt });
        command.Parameters.Add(new NpgsqlParameter { Value = giveUp });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Merchants with a delivery due now: what the sweeper wakes.</summary>
    internal async Task<IReadOnlyList<string>> MerchantsDueAsync(DateTimeOffset now)
    {
        await using var command = database.CreateCommand("""
            SELECT DISTINCT merchant_id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        var merchants = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            merchants.Add(reader.GetString(0));
        }

        return merchants;
    }
}

internal sealed record OwedDelivery(string EventId, string Type, DateTimeOffset CreatedAt, string Data, int Attempts, DateTimeOffset NextAttemptAt);

/// <summary>Where a merchant's events go, and the secrets that sign them (the previous one while it still counts).</summary>
internal sealed record WebhookEndpoint(string Url, string Secret, string? PreviousSecret);
