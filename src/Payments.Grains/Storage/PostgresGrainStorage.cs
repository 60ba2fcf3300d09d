using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Payments.Grains.Storage;

/// <summary>
/// The payments grains' storage: the rows and version checks of the ADO.NET provider (sql/0001), but every read and
/// write goes through <see cref="GrainStateQueues"/>, so the writes of all grains that write at about the same time
/// share one round trip and one commit, and concurrent activations' reads share one round trip. A grain awaits its
/// own write as before and learns of a lost version check as an <see cref="InconsistentStateException"/>.
/// The payload is what <see cref="GrainStateSerializer"/> makes of the state; a state with a wake-up
/// (<see cref="IHasDurableWakeUp"/>) has it read from and written to its own columns of the row, and a state whose writes
/// apply operations (<see cref="IRecordsAppliedOperations"/>) has them recorded by the same statement.
/// </summary>
internal sealed partial class PostgresGrainStorage(
    GrainStateQueues queues,
    GrainStateSerializer serializer,
    IActivatorProvider activators,
    IOptions<ClusterOptions> cluster,
    ILogger<PostgresGrainStorage> logger) : IGrainStorage
{
    private readonly string _serviceId = cluster.Value.ServiceId;

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var identity = GrainStateIdentity.Of(_serviceId, stateName, grainId);
        var read = new GrainStateRead(identity);
        try
        {
            await queues.Reads.EnqueueAsync(read);
        }
        catch (Exception exception)
        {
            LogReadFailed(exception, identity);
            throw;
        }

        grainState.State = (read.Payload is { } payload ? serializer.Deserialize<T>(payload) : default) ?? NewState<T>();
        if (grainState.State is IHasDurableWakeUp wakeable)
        {
            wakeable.WakeUp = read.Payload is null ? null : read.WakeUp;
        }
        grainState.ETag = read.Found ? read.Version.ToString(CultureInfo.InvariantCulture) : null;
        grainState.RecordExists = read.Payload is not null;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var identity = GrainStateIdentity.Of(_serviceId, stateName, grainId);
        var payload = serializer.Serialize(grainState.State);
        var wakeUp = (grainState.State as IHasDurableWakeUp)?.WakeUp is { } due ? new StoredWakeUp(due, grainId.Key.ToString()) : (StoredWakeUp?)null;
        var operations = (grainState.State as IRecordsAppliedOperations)?.OperationsToRecord is { } recorded
            ? new AppliedOperationWrite(grainId.Key.ToString(), recorded)
            : (AppliedOperationWrite?)null;
        var newVersion = await WriteAsync(identity, grainState.ETag, payload, clear: false, wakeUp, operations);
        if (newVersion is null)
        {
            // Its operation was applied before: nothing was written, and the grain keeps the version it has.
            return;
        }

        grainState.ETag = newVersion.Value.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (!grainState.RecordExists && string.IsNullOrWhiteSpace(grainState.ETag))
        {
            // Never read, or read as absent: find out whether there is anything to clear.
            await ReadStateAsync(stateName, grainId, grainState);
            if (!grainState.RecordExists)
            {
                return;
            }
        }

        var identity = GrainStateIdentity.Of(_serviceId, stateName, grainId);
        // The row stays with its payload dropped, so a stale activation's first write still conflicts.
        var newVersion = await WriteAsync(identity, grainState.ETag, payload: null, clear: true, wakeUp: null)
            ?? throw new InvalidOperationException("A clear applies no operation, so it is never answered as applied before.");
        grainState.ETag = newVersion.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = false;
        grainState.State = NewState<T>();
    }

    /// <returns>The row's new version; null only when the write's operation was applied before and nothing was written.</returns>
    private async Task<int?> WriteAsync(
        GrainStateIdentity identity, string? etag, byte[]? payload, bool clear, StoredWakeUp? wakeUp, AppliedOperationWrite? operations = null)
    {
        int? expected = string.IsNullOrWhiteSpace(etag) ? null : int.Parse(etag, CultureInfo.InvariantCulture);
        var write = new GrainStateWrite(identity, expected, payload, clear, wakeUp, operations);
        try
        {
            await queues.Writes.EnqueueAsync(write);
        }
        catch (Exception exception)
        {
            LogWriteFailed(exception, identity, etag);
            throw;
        }

        if (write.AppliedBefore)
        {
            operations!.Value.Operations.AppliedBefore = true;
            return null;
        }

        return write.NewVersion
            ?? throw new InconsistentStateException(
                $"Version conflict ({(clear ? "ClearState" : "WriteState")}): ServiceId={identity.ServiceId} GrainType={identity.GrainType} GrainId={identity} ETag={etag}.");
    }

    private T NewState<T>() => activators.GetActivator<T>().Create();

    [LoggerMessage(Level = LogLevel.Error, Message = "Reading the state of {Identity} failed")]
    private partial void LogReadFailed(Exception exception, GrainStateIdentity identity);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing the state of {Identity} (ETag {ETag}) failed")]
    private partial void LogWriteFailed(Exception exception, GrainStateIdentity identity, string? etag);
}
