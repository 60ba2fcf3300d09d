using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace Payments.Grains.Idempotency;

/// <summary>Deletes expired Idempotency-Key records from the ADO.NET grain storage table, one bounded batch at a time.</summary>
public sealed class IdempotencyExpiryStore(NpgsqlDataSource database, IOptions<ClusterOptions> cluster, IOptions<IdempotencyOptions> options)
{
    /// <summary>
    /// One batch. The grain type is a literal, not a parameter, so that the planner can use the partial index of
    /// sql/0010_idempotency_expiry.sql. The cutoffs are taken from the database's clock, the one that stamped modified_at
    /// (every write of a key sets it: a completed row's is its completion, a locked row's its lock). A row qualifies when
    /// it is older than the retention plus the margin and it is
    /// - cleared (payload NULL: an abandoned key, nothing to keep), or
    /// - completed (its JSON holds "Completed":true; the body is base64 and other strings are escaped, so nothing else can), or
    /// - still locked but past the lock timeout as well (its request died long ago).
    /// FOR UPDATE SKIP LOCKED: a row a grain is writing right now is left for the next batch, and re-checked on its new
    /// version rather than deleted from under the write; two silos sweeping at once never wait on each other.
    /// </summary>
    private const string DeleteBatch = $"""
        DELETE FROM orleans_grain_state
        WHERE ctid = ANY (ARRAY (
            SELECT ctid FROM orleans_grain_state
            WHERE grain_type = '{IdempotencyKeyGrain.StateName}' AND service_id = $1
              AND modified_at < now() - $2
              AND (payload IS NULL
                   OR position(convert_to('"Completed":true', 'UTF8') IN payload) > 0
                   OR modified_at < now() - $3)
            LIMIT $4
            FOR UPDATE SKIP LOCKED))
        """;

    /// <summary>Deletes at most one batch of expired records; answers how many it deleted.</summary>
    public async Task<int> DeleteExpiredBatchAsync(CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        var completedAge = settings.Retention + settings.SweepMargin;
        var lockedAge = (settings.LockTimeout > settings.Retention ? settings.LockTimeout : settings.Retention) + settings.SweepMargin;
        await using var command = database.CreateCommand(DeleteBatch);
        command.Parameters.Add(new NpgsqlParameter { Value = cluster.Value.ServiceId });
        command.Parameters.Add(new NpgsqlParameter { Value = completedAge });
        command.Parameters.Add(new NpgsqlParameter { Value = lockedAge });
        command.Parameters.Add(new NpgsqlParameter { Value = settings.SweepBatchSize });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
