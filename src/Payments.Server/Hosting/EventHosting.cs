using Orleans.Hosting;
using Payments.Grains;
using Payments.Grains.Events;

namespace Payments.Server.Hosting;

public static class EventHosting
{
    /// <summary>
    /// The merchant event stream: Orleans memory streams. The event log in PostgreSQL is the durable copy and the stream only
    /// prompts each merchant's notifier, so a provider with a durable queue of its own would keep a second copy of what the
    /// log already holds; a message lost with a silo is made up by the sweeper, woken by a reminder and by every silo's start.
    /// </summary>
    public static ISiloBuilder AddPaymentEvents(this ISiloBuilder silo, string connectionString)
    {
        silo.AddMemoryStreams(EventStream.ProviderName);
        // Where the stream runtime keeps its producer and subscriber lists (the notifiers subscribe implicitly, by type).
        silo.AddAdoNetGrainStorage("PubSubStore", adoNet => (adoNet.Invariant, adoNet.ConnectionString) = (ClusterHosting.AdoNetInvariant, connectionString));
        silo.AddStartupTask(async (services, _) =>
        {
            var sweeper = services.GetRequiredService<IGrainFactory>().GetGrain<IWebhookSweeperGrain>(0);
            await sweeper.EnsureScheduledAsync();
            // After a crash, deliveries that were in flight are due again: send them now, not at the first reminder tick.
            await sweeper.SweepAsync();
        });
        return silo;
    }
}
