using Npgsql;
using NpgsqlTypes;
using Payments.Database.Batching;

namespace Payments.Grains.Storage;

/// <summary>Reads one grain's row: its payload (null when cleared), version and wake-up, or no row at all.</summary>
internal sealed class GrainStateRead(GrainStateIdentity identity) : QueuedStatement
{
    public bool Found { get; private set; }

    public byte[]? Payload { get; private set; }

    public int Version { get; private set; }

    public DurableWakeUp? WakeUp { get; private set; }

    public override IEnumerable<NpgsqlBatchCommand> Commands()
    {
        var command = new NpgsqlBatchCommand("""
            SELECT payload, version, wake_at, wake_reason FROM orleans_grain_state
            WHERE grain_id_hash = $1 AND grain_type_hash = $2 AND service_id = $3
              AND grain_id_n0 = $4 AND grain_id_n1 = $5 AND grain_type = $6 AND grain_id_ext IS NOT DISTINCT FROM $7
            """);
        GrainStateParameters.AddIdentity(command, identity);
        return [command];
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        // Read again after a failed group: nothing of the first attempt may remain.
        (Payload, Version, WakeUp) = (null, 0, null);
        Found = await reader.ReadAsync(cancellationToken);
        if (Found)
        {
            Payload = reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0);
            Version = reader.GetInt32(1);
            WakeUp = reader.IsDBNull(2) || reader.IsDBNull(3) ? null : new DurableWakeUp(reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3));
        }
    }
}

/// <summary>
/// Writes one grain's state, and its wake-up in the same statement, if its version is still the one the grain read (none:
/// the row must not exist yet); the functions of sql/0001 and sql/0011 answer the new version, or null when the version
/// check failed. Clearing drops the wake-up with the payload. A write that applies an operation (sql/0012) records it in the
/// same statement, or writes nothing when it is recorded already.
/// </summary>
internal sealed class GrainStateWrite(
    GrainStateIdentity identity, int? expectedVersion, byte[]? payload, bool clear, StoredWakeUp? wakeUp, AppliedOperationWrite? operations = null)
    : QueuedStatement
{
    /// <summary>The version the row has now, or null when the write lost the version check (or its operation was applied before).</summary>
    public int? NewVersion { get; private set; }

    /// <summary>The operation it applies was recorded already: nothing was written.</summary>
    public bool AppliedBefore { get; private set; }

    public override IEnumerable<NpgsqlBatchCommand> Commands()
    {
        var command = new NpgsqlBatchCommand(clear ? "SELECT orleans_grain_state_clear($3, $6, $2, $1, $4, $5, $7, $8)"
            : operations is null ? "SELECT orleans_grain_state_write($3, $6, $2, $1, $4, $5, $7, $8, $9, $10, $11, $12)"
            : "SELECT orleans_grain_state_write_applying($3, $6, $2, $1, $4, $5, $7, $8, $9, $10, $11, $12, $13, $14, $15)");
        GrainStateParameters.AddIdentity(command, identity);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)expectedVersion ?? DBNull.Value });
        if (!clear)
        {
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)payload ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = wakeUp is { } at ? at.WakeUp.At : DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)wakeUp?.WakeUp.Reason ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)wakeUp?.GrainKey ?? DBNull.Value });
        }

        if (!clear && operations is { } recorded)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = recorded.GrainKey, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)recorded.Operations.Applied ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. recorded.Operations.CarriedOver], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        }

        return [command];
    }

    public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var answer = await reader.ReadAsync(cancellationToken) && !reader.IsDBNull(0) ? reader.GetInt32(0) : (int?)null;
        // -1 is sql/0012's word for "applied before"; a version is never below 1.
        AppliedBefore = answer == -1;
        NewVersion = AppliedBefore ? null : answer;
    }
}

/// <summary>The operations a write records, and the grain's key they are recorded under.</summary>
internal readonly record struct AppliedOperationWrite(string GrainKey, OperationsToRecord Operations);

internal static class GrainStateParameters
{
    /// <summary>$1..$7: the identity columns, in the order of the unique index.</summary>
    public static void AddIdentity(NpgsqlBatchCommand command, GrainStateIdentity identity)
    {
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = identity.GrainIdHash });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = identity.GrainTypeHash });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = identity.ServiceId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = identity.N0 });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = identity.N1 });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = identity.GrainType });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)identity.Extension ?? DBNull.Value });
    }
}
