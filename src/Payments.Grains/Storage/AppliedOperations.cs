using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Orleans.Configuration;
using Payments.Database.Batching;

namespace Payments.Grains.Storage;

/// <summary>
/// What a write applies: the operation that changed the state, which must never apply twice, and the ids a payload of an
/// earlier build still carried, to be recorded as they leave it. Recorded in <c>grain_operations</c> (sql/0012) by the
/// statement that writes the state, so a stored change and the record that it happened are never out of step.
/// </summary>
internal sealed class OperationsToRecord(string? applied, IReadOnlyCollection<string> carriedOver)
{
    public string? Applied { get; } = applied;

    public IReadOnlyCollection<string> CarriedOver { get; } = carriedOver;

    /// <summary>
    /// Set by the write: <see cref="Applied"/> was recorded already, so nothing was written and the version is unchanged.
    /// An answer, not an error: Orleans would log a storage failure for every retried operation.
    /// </summary>
    public bool AppliedBefore { get; set; }
}

/// <summary>
/// A grain state whose writes record the operations they apply. Not part of the payload: the grain sets it before a
/// write and reads <see cref="OperationsToRecord.AppliedBefore"/> after it.
/// </summary>
internal interface IRecordsAppliedOperations
{
    OperationsToRecord? OperationsToRecord { get; }
}

/// <summary>Asks <c>grain_operations</c> whether a grain has applied an operation: for the refusals, which must not refuse a retry.</summary>
internal sealed class AppliedOperations(GrainStateQueues queues, IOptions<ClusterOptions> cluster)
{
    private readonly string _serviceId = cluster.Value.ServiceId;

    public async Task<bool> ContainsAsync(string stateName, GrainId grainId, string operationId)
    {
        var read = new AppliedOperationRead(_serviceId, stateName, grainId.Key.ToString(), operationId);
        await queues.Reads.EnqueueAsync(read);
        return read.Found;
    }

    private sealed class AppliedOperationRead(string serviceId, string grainType, string grainKey, string operationId) : QueuedStatement
    {
        public bool Found { get; private set; }

        public override IEnumerable<NpgsqlBatchCommand> Commands()
        {
            var command = new NpgsqlBatchCommand(
                "SELECT 1 FROM grain_operations WHERE service_id = $1 AND grain_type = $2 AND grain_key = $3 AND operation_id = $4");
            foreach (var value in new[] { serviceId, grainType, grainKey, operationId })
            {
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Text });
            }

            return [command];
        }

        public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) =>
            Found = await reader.ReadAsync(cancellationToken);
    }
}
