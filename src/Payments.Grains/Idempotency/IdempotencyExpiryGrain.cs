using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Payments.Grains.Idempotency;

[Alias("Payments.IIdempotencyExpiryGrain")]
public interface IIdempotencyExpiryGrain : IGrainWithIntegerKey
{
    /// <summary>Registers the sweep's reminder (once for the cluster; again only updates its period).</summary>
    [Alias("EnsureScheduledAsync")]
    Task EnsureScheduledAsync();

    /// <summary>Deletes expired Idempotency-Key records, batch by batch, for at most a few seconds; answers how many.</summary>
    [Alias("SweepAsync")]
    Task<int> SweepAsync();
}

/// <summary>
/// Keeps the Idempotency-Key records from growing forever. The keys themselves already ignore an expired record
/// (<see cref="IdempotencyKeyGrain"/>), so correctness never depends on when this runs: it only reclaims the rows.
/// A reminder rather than a hosted service on each silo: one sweep for the cluster, and it survives the silo it ran on.
/// </summary>
internal sealed class IdempotencyExpiryGrain(IdempotencyExpiryStore store, IOptions<IdempotencyOptions> options, ILogger<IdempotencyExpiryGrain> logger)
    : Grain, IIdempotencyExpiryGrain, IRemindable
{
    public const long Key = 0;
    private const string ReminderName = "idempotency_expiry";

    /// <summary>
    /// How long one sweep keeps deleting: well inside a grain call's timeout. A backlog larger than this clears (the first
    /// sweep after an upgrade meets every key ever made) is taken up by the following ticks.
    /// </summary>
    private static readonly TimeSpan SweepBudget = TimeSpan.FromSeconds(10);

    public Task EnsureScheduledAsync() => this.RegisterOrUpdateReminder(ReminderName, options.Value.SweepPeriod, options.Value.SweepPeriod);

    public async Task<int> SweepAsync()
    {
        var started = Stopwatch.StartNew();
        var deleted = 0;
        int batch;
        do
        {
            batch = await store.DeleteExpiredBatchAsync();
            deleted += batch;
        }
        while (batch == options.Value.SweepBatchSize && started.Elapsed < SweepBudget);

        if (deleted > 0)
        {
            logger.LogInformation("Deleted {Count} expired Idempotency-Key records in {Elapsed} ms", deleted, started.ElapsedMilliseconds);
        }

        return deleted;
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => SweepAsync();
}

/// <summary>Registers the sweep's reminder when a silo has started, so that no host has to remember to.</summary>
internal sealed class IdempotencyExpiryStartup(IServiceProvider services) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe<IdempotencyExpiryStartup>(ServiceLifecycleStage.Active,
            _ => services.GetRequiredService<IGrainFactory>().GetGrain<IIdempotencyExpiryGrain>(IdempotencyExpiryGrain.Key).EnsureScheduledAsync());
}
