using System.Security.Cryptography;
using Npgsql;

namespace Payments.Api.Events;

/// <summary>The merchant's webhook endpoint: its URL, the event types it takes, and the secret that signs them.</summary>
public sealed class WebhookEndpointStore(NpgsqlDataSource database)
{
    /// <summary>Sets the endpoint; a secret is made the first time and, when <paramref name="rotate"/>, again (the old one signs on until <paramref name="previousUntil"/>).</summary>
    public async Task<WebhookEndpointResponse> PutAsync(string merchantId, string url, string[] events, bool rotate, DateTimeOffset now, DateTimeOffset previousUntil, CancellationToken cancellationToken)
    {
        // What is still owed goes to the new URL at once (a merchant who fixed the URL should not wait out a backoff), and what
        // the endpoint no longer takes is canceled.
        await using var command = database.CreateCommand("""
            WITH endpoint AS (
                INSERT INTO webhook_endpoints (merchant_id, url, events, secret, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $5)
                ON CONFLICT (merchant_id) DO UPDATE SET
                    url = excluded.url, events = excluded.events, updated_at = excluded.updated_at,
                    secret = CASE WHEN $6 THEN excluded.secret ELSE webhook_endpoints.secret END,
                    previous_secret = CASE WHEN $6 THEN webhook_endpoints.secret ELSE webhook_endpoints.previous_secret END,
                    previous_secret_until = CASE WHEN $6 THEN $7 ELSE webhook_endpoints.previous_secret_until END
                RETURNING url, events, secret
            ),
            owed AS (
                UPDATE webhook_deliveries delivery
                SET next_attempt_at = $5, status = CASE WHEN '*' = ANY ($3) OR event.type = ANY ($3) THEN 'pending' ELSE 'canceled' END
                FROM events event
                WHERE event.event_id = delivery.event_id AND delivery.merchant_id = $1 AND delivery.status = 'pending'
            )
            SELECT url, events, secret FROM endpoint
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        command.Parameters.Add(new NpgsqlParameter { Value = url });
        command.Parameters.Add(new NpgsqlParameter { Value = events });
        command.Parameters.Add(new NpgsqlParameter { Value = NewSecret() });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = rotate });
        command.Parameters.Add(new NpgsqlParameter { Value = previousUntil });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new WebhookEndpointResponse(reader.GetString(0), reader.GetFieldValue<string[]>(1), reader.GetString(2));
    }

    public async Task<WebhookEndpointResponse?> GetAsync(string merchantId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT url, events, secret FROM webhook_endpoints WHERE merchant_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new WebhookEndpointResponse(reader.GetString(0), reader.GetFieldValue<string[]>(1), reader.GetString(2))
            : null;
    }

    /// <summary>Removes the endpoint and cancels what it was still owed; null when there was none.</summary>
    public async Task<string?> DeleteAsync(string merchantId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            WITH removed AS (DELETE FROM webhook_endpoints WHERE merchant_id = $1 RETURNING url),
                 canceled AS (UPDATE webhook_deliveries SET status = 'canceled' WHERE merchant_id = $1 AND status = 'pending' AND EXISTS (SELECT 1 FROM removed))
            SELECT url FROM removed
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    private static string NewSecret() => "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
}

public sealed record WebhookEndpointResponse(string Url, IReadOnlyList<string> Events, string Secret);

public sealed record DeletedWebhookEndpointResponse(string Url, bool Deleted);
