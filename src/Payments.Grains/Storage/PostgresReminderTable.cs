using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Orleans.Configuration;
using Payments.Database.Batching;

namespace Payments.Grains.Storage;

/// <summary>
/// Orleans' reminder table in <c>orleans_reminder</c> (sql/0001), with the rows the ADO.NET provider writes. A grain's
/// own calls (register, unregister, look up one) go through the grain state queues, so they share round trips and
/// commits with the grain writes around them (a payout registers one and removes it when it is done). The reminder
/// service's scans of a ring range are rare and go straight to the database.
/// </summary>
internal sealed class PostgresReminderTable(GrainStateQueues queues, NpgsqlDataSource database, IOptions<ClusterOptions> cluster) : IReminderTable
{
    private const string Columns = "grain_id, reminder_name, start_time, period_ms, version";

    private readonly string _serviceId = cluster.Value.ServiceId;

    public Task StartAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public async Task<ReminderTableData> ReadRows(GrainId grainId)
    {
        var read = new ReminderRead(_serviceId, grainId.ToString(), reminderName: null);
        await queues.Reads.EnqueueAsync(read);
        return new ReminderTableData(read.Entries);
    }

    public async Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        // (begin, end] on the ring of signed hashes; a range that wraps (or the whole ring, begin = end) is two pieces.
        var sql = (int)begin < (int)end
            ? $"SELECT {Columns} FROM orleans_reminder WHERE service_id = $1 AND grain_hash > $2 AND grain_hash <= $3"
            : $"SELECT {Columns} FROM orleans_reminder WHERE service_id = $1 AND (grain_hash > $2 OR grain_hash <= $3)";
        await using var command = database.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)begin });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)end });
        await using var reader = await command.ExecuteReaderAsync();
        var entries = new List<ReminderEntry>();
        while (await reader.ReadAsync())
        {
            entries.Add(ReminderRead.Entry(reader));
        }

        return new ReminderTableData(entries);
    }

    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        var read = new ReminderRead(_serviceId, grainId.ToString(), reminderName);
        await queues.Reads.EnqueueAsync(read);
        return read.Entries.SingleOrDefault();
    }

    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        var upsert = new ReminderUpsert(_serviceId, entry);
        await queues.Writes.EnqueueAsync(upsert);
        return upsert.Version.ToString(CultureInfo.InvariantCulture);
    }

    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        var remove = new ReminderRemove(_serviceId, grainId.ToString(), reminderName, int.Parse(eTag, CultureInfo.InvariantCulture));
        await queues.Writes.EnqueueAsync(remove);
        return remove.Removed;
    }

    public async Task TestOnlyClearTable()
    {
        await using var command = database.CreateCommand("DELETE FROM orleans_reminder WHERE service_id = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
        await command.ExecuteNonQueryAsync();
    }

    private sealed class ReminderRead(string serviceId, string grainId, string? reminderName) : QueuedStatement
    {
        public List<ReminderEntry> Entries { get; } = [];

        public override IEnumerable<NpgsqlBatchCommand> Commands()
        {
            var command = new NpgsqlBatchCommand(
                $"SELECT {Columns} FROM orleans_reminder WHERE service_id = $1 AND grain_id = $2 AND ($3::text IS NULL OR reminder_name = $3)");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainId });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)reminderName ?? DBNull.Value });
            return [command];
        }

        public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
        {
            // Read again after a failed group: start from nothing.
            Entries.Clear();
            while (await reader.ReadAsync(cancellationToken))
            {
                Entries.Add(Entry(reader));
            }
        }

        public static ReminderEntry Entry(NpgsqlDataReader reader) => new()
        {
            GrainId = GrainId.Parse(reader.GetString(0)),
            ReminderName = reader.GetString(1),
            StartAt = DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc),
            Period = TimeSpan.FromMilliseconds(reader.GetInt64(3)),
            ETag = reader.GetInt32(4).ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>Registration is last-writer-wins: no ETag is checked; the answer is the new one.</summary>
    private sealed class ReminderUpsert(string serviceId, ReminderEntry entry) : QueuedStatement
    {
        public int Version { get; private set; }

        public override IEnumerable<NpgsqlBatchCommand> Commands()
        {
            var command = new NpgsqlBatchCommand("""
                INSERT INTO orleans_reminder AS r (service_id, grain_id, reminder_name, grain_hash, start_time, period_ms, version)
                VALUES ($1, $2, $3, $4, $5, $6, 1)
                ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
                   SET grain_hash = EXCLUDED.grain_hash, start_time = EXCLUDED.start_time, period_ms = EXCLUDED.period_ms, version = r.version + 1
                RETURNING r.version
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.GrainId.ToString() });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.ReminderName });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = unchecked((int)entry.GrainId.GetUniformHashCode()) });
            // A start time of unknown kind is taken as UTC, as the reminder service means it; a local one is converted.
            command.Parameters.Add(new NpgsqlParameter<DateTime>
            {
                TypedValue = entry.StartAt.Kind switch
                {
                    DateTimeKind.Utc => entry.StartAt,
                    DateTimeKind.Local => entry.StartAt.ToUniversalTime(),
                    _ => DateTime.SpecifyKind(entry.StartAt, DateTimeKind.Utc),
                },
            });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)entry.Period.TotalMilliseconds });
            return [command];
        }

        public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
        {
            await reader.ReadAsync(cancellationToken);
            Version = reader.GetInt32(0);
        }
    }

    /// <summary>Removes the row only at the ETag the caller holds; false when it is stale or the row is gone.</summary>
    private sealed class ReminderRemove(string serviceId, string grainId, string reminderName, int version) : QueuedStatement
    {
        public bool Removed { get; private set; }

        public override IEnumerable<NpgsqlBatchCommand> Commands()
        {
            var command = new NpgsqlBatchCommand(
                "DELETE FROM orleans_reminder WHERE service_id = $1 AND grain_id = $2 AND reminder_name = $3 AND version = $4 RETURNING 1");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reminderName });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
            return [command];
        }

        public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
        {
            Removed = await reader.ReadAsync(cancellationToken);
        }
    }
}
