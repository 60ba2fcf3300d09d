using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting;
using Payments.Core.Reconciliation;
using Payments.Grains;
using Payments.Reconciliation.Runs;
using Payments.Server.Cluster;
using Payments.Server.Dashboard;

namespace Payments.Server.Hosting;

public static class ClusterHosting
{
    internal const string AdoNetInvariant = "Npgsql";

    /// <summary>A silo (roles All and Silo) or a cluster client (Gateway), all clustered through PostgreSQL.</summary>
    public static WebApplicationBuilder AddPaymentsCluster(this WebApplicationBuilder builder, ServerOptions options, string connectionString)
    {
        if (options.Role is ServerRole.Gateway)
        {
            builder.UseOrleansClient(client =>
            {
                client.Configure<ClusterOptions>(cluster => (cluster.ClusterId, cluster.ServiceId) = (options.ClusterId, options.ServiceId));
                client.UseAdoNetClustering(adoNet => (adoNet.Invariant, adoNet.ConnectionString) = (AdoNetInvariant, connectionString));
                client.AddActivityPropagation();
                client.ConfigureFailover();
            });
            return builder;
        }

        builder.UseOrleans(silo => silo.ConfigurePaymentsSilo(options, connectionString));
        return builder;
    }

    /// <summary>The silo configuration shared by the server and the test clusters. Test clusters (not standalone) choose their own ports and run no dashboard.</summary>
    public static ISiloBuilder ConfigurePaymentsSilo(this ISiloBuilder silo, ServerOptions options, string connectionString, bool standalone = true)
    {
        silo.Services.AddPaymentGrains(silo.Configuration);
        // Grain calls carry the caller's trace: a request's span and the grain calls it makes are one trace.
        silo.AddActivityPropagation();
        silo.Configure<ClusterOptions>(cluster => (cluster.ClusterId, cluster.ServiceId) = (options.ClusterId, options.ServiceId));
        silo.Configure<GrainDirectoryOptions>(directory => directory.CacheSize = options.GrainDirectoryCacheSize);
        if (standalone)
        {
            if (options.AdvertisedAddress is { Length: > 0 } advertised)
            {
                // In a container the silo is reached by its service's address; it listens on every interface to be.
                var address = IPAddress.TryParse(advertised, out var ip) ? ip
                    : Dns.GetHostAddresses(advertised).First(candidate => candidate.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
                silo.ConfigureEndpoints(address, options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
            }
            else
            {
                silo.ConfigureEndpoints(IPAddress.Loopback, options.SiloPort, options.GatewayPort);
            }
            var dashboardInterval = (int)Math.Max(1000, options.DashboardCounterInterval.TotalMilliseconds);
            silo.AddDashboard(dashboard => dashboard.CounterUpdateIntervalMs = dashboardInterval);
            DashboardCollectInterval.Apply(silo.Services, dashboardInterval);
            // Test clusters keep Orleans' own membership timing; a real cluster declares a dead silo dead within seconds.
            silo.ConfigureFailover();
        }

        silo.UseAdoNetClustering(adoNet => (adoNet.Invariant, adoNet.ConnectionString) = (AdoNetInvariant, connectionString));
        silo.Services.AddPaymentsGrainStorage();
        silo.AddReminders();
        silo.Services.AddPaymentsReminderTable();
        silo.Configure<ReminderOptions>(reminders => reminders.MinimumReminderPeriod = options.ReminderPeriodMin);
        silo.AddPaymentEvents(connectionString);
        // Each reconciler's reminder is registered by whichever silo starts first (the others find it there): from then on
        // the daily runs, and the resumption of runs a crash interrupted, need nobody to call them.
        silo.AddStartupTask(async (services, _) =>
        {
            var grains = services.GetRequiredService<IGrainFactory>();
            foreach (var source in new[] { ReconciliationSources.Psp, ReconciliationSources.Bank })
            {
                await grains.GetGrain<IReconcilerGrain>(source).EnsureScheduledAsync();
            }
        });
        return silo;
    }
}
