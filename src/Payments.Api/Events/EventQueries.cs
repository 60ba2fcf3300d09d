using System.Text.Json;
using Npgsql;

namespace Payments.Api.Events;

/// <summary>Reads of the event log and of webhook deliveries, for the events and operations routes.</summary>
public sealed class EventQueries(NpgsqlDataSource database)
{
    public const int PageMax = 1000;

    /// <summary>The position of one of the merchant's events in its log, or null when it is not one of its events.</summary>
    public async Task<long?> SequenceOfAsync(string merchantId, string eventId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT seq FROM events WHERE merchant_id = $1 AND event_id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        command.Parameters.Add(new NpgsqlParameter { Value = eventId });
        return await command.ExecuteScalarAsync(cancellationToken) as long?;
    }

    /// <summary>Up to <paramref name="limit"/> + 1 events (the extra one tells whether there are more), in log order or reversed.</summary>
    public async Task<IReadOnlyList<EventResponse>> PageAsync(string merchantId, string? type, long? after, bool newestFirst, int limit, CancellationToken cancellationToken)
    {
        var (comparison, order) = newestFirst ? ("<", "DESC") : (">", "ASC");
        await using var command = database.CreateCommand($"""
            SELECT event_id, type, created_at, data::text FROM events
            WHERE merchant_id = $1 AND ($2::text IS NULL OR type = $2) AND ($3::bigint IS NULL OR seq {comparison} $3)
            ORDER BY seq {order}
            LIMIT $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)type ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var events = new List<EventResponse>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            using var data = JsonDocument.Parse(reader.GetString(3));
            events.Add(new EventResponse(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2).UtcDateTime, data.RootElement.Clone()));
        }

        return events;
    }

    /// <summary>
    /// Endpoints with deliveries in trouble, per merchant: 'failing' (still retried after a failed attempt) or 'failed' (given
    /// up after the retry period).
    /// </summary>
    public async Task<IReadOnlyList<TroubledEndpointResponse>> TroubledEndpointsAsync(string status, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT delivery.merchant_id, endpoint.url, count(*), min(delivery.first_attempt_at), max(delivery.last_attempt_at),
                   min(delivery.next_attempt_at) FILTER (WHERE delivery.status = 'pending'),
                   (array_agg(delivery.last_error ORDER BY delivery.last_attempt_at DESC))[1],
                   (array_agg(delivery.last_status_code ORDER BY delivery.last_attempt_at DESC))[1]
            FROM webhook_deliveries delivery
            LEFT JOIN webhook_endpoints endpoint ON endpoint.merchant_id = delivery.merchant_id
            WHERE CASE WHEN $1 = 'failed' THEN delivery.status = 'failed' ELSE delivery.status = 'pending' AND delivery.attempts > 0 END
            GROUP BY delivery.merchant_id, endpoint.url
            ORDER BY min(delivery.first_attempt_at), delivery.merchant_id
            LIMIT 1000
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        var endpoints = new List<TroubledEndpointResponse>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            endpoints.Add(new TroubledEndpointResponse(
                reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                status,
                reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3).UtcDateTime,
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4).UtcDateTime,
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5).UtcDateTime,
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetInt32(7)));
        }

        return endpoints;
    }
}

public sealed record EventResponse(string Id, string Type, DateTime CreatedAt, JsonElement Data);

public sealed record EventsPageResponse(IReadOnlyList<EventResponse> Events, bool HasMore);

public sealed record TroubledEndpointResponse(
    string MerchantId,
    string? Url,
    string Status,
    long Deliveries,
    DateTime? FailingSince,
    DateTime? LastAttemptAt,
    DateTime? NextAttemptAt,
    string? LastError,
    int? LastStatusCode);

public sealed record TroubledEndpointsResponse(IReadOnlyList<TroubledEndpointResponse> Endpoints);
