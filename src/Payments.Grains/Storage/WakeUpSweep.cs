using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace Payments.Grains.Storage;

/// <summary>One grain whose stored wake-up is due: its key and the wake-up's time, which is where the next page starts after it.</summary>
internal readonly record struct DueWakeUp(string GrainKey, DateTimeOffset At);

/// <summary>
/// Reads the due wake-ups of one grain type (<see cref="DurableWakeUp"/>, sql/0011) for a sweep: one reason, one shard of
/// the grains (by their id hash), oldest first, a page at a time. Straight from the database, not the statement queues: a
/// sweep is rare, and its reads must not wait behind a group's commit.
/// </summary>
internal sealed class WakeUpSweep(NpgsqlDataSource database, IOptions<ClusterOptions> cluster)
{
    // Keyset on (wake_at, key), the order of the index (sql/0011), which holds the shard's hash too: a grain woken in
    // this sweep whose wake-up stays where it was is passed, not met again. The key is the grain's own (wake_key), also
    // for ids Orleans stores as numbers. A cleared row has no wake-up. The first page and the later ones are two statements,
    // not one with "$7 IS NULL OR ...": a plan made for any $7 (a prepared statement's generic plan) could not start the
    // index scan at the keyset and would filter the rows before it instead.
    private const string DueRows = """
        SELECT wake_key, wake_at FROM orleans_grain_state
        WHERE service_id = $1 AND grain_type = $2 AND wake_reason = $3 AND wake_at IS NOT NULL AND wake_at <= $4
          AND (grain_id_hash & 2147483647) % $5 = $6
        """;

    private const string InKeyOrder = """

        ORDER BY wake_at, wake_key COLLATE "C"
        LIMIT $7
        """;

    private const string FirstPage = DueRows + InKeyOrder;

    private const string PageAfter = DueRows + """

          AND (wake_at, wake_key COLLATE "C") > ($8::timestamptz, $9::text COLLATE "C")
        """ + InKeyOrder;

    /// <summary>The due wake-ups after <paramref name="after"/> (none: from the oldest), at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<DueWakeUp>> DuePageAsync(
        string grainType, string reason, DateTimeOffset dueBy, int shard, int shards, DueWakeUp? after, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand(after is null ? FirstPage : PageAfter);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = cluster.Value.ServiceId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reason });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = dueBy });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = shards });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = shard });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        if (after is { } last)
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = last.At });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = last.GrainKey });
        }

        var due = new List<DueWakeUp>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            due.Add(new DueWakeUp(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1)));
        }

        return due;
    }
}
