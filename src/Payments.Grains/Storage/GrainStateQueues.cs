using Microsoft.Extensions.Logging;
using Npgsql;
using Payments.Database.Batching;

namespace Payments.Grains.Storage;

/// <summary>
/// The silo's two statement queues for grain state: writes (group commit) and reads (activations that start together
/// share a round trip). Apart, so that a read never waits behind a group's commit.
/// </summary>
internal sealed class GrainStateQueues(NpgsqlDataSource dataSource, ILoggerFactory loggers) : IAsyncDisposable
{
    /// <summary>Enough for every grain of a busy silo to ride in one group; bigger groups only wait longer.</summary>
    private const int GroupSizeMax = 256;

    public StatementQueue Writes { get; } = new(dataSource, GroupSizeMax, loops: 2, loggers.CreateLogger("Payments.Grains.Storage.Writes"));

    public StatementQueue Reads { get; } = new(dataSource, GroupSizeMax, loops: 2, loggers.CreateLogger("Payments.Grains.Storage.Reads"));

    public async ValueTask DisposeAsync()
    {
        await Writes.DisposeAsync();
        await Reads.DisposeAsync();
    }
}
