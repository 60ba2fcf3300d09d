using System.Net;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting;
using Payments.Grains;

namespace Payments.Server.Hosting;

public static class ClusterHosting
{
    private const string AdoNetInvariant = "Npgsql";

    /// <summary>A silo (roles All and Silo) or a cluster client (Gateway), all clustered through PostgreSQL.</summary>
    public static WebApplicationBuilder AddPaymentsCluster(this WebApplicationBuilder builder, ServerOptions options, string connectionString)
    {
        if (options.Role is ServerRole.Gateway)
        {
            builder.UseOrleansClient(client =>
            {
                client.Configure<ClusterOptions>(cluster => (cluster.ClusterId, cluster.ServiceId) = (options.ClusterId, options.ServiceId));
                client.UseAdoNetClustering(adoNet => (adoNet.Invariant, adoNet.ConnectionString) = (AdoNetInvariant, connectionString));
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
        silo.Configure<ClusterOptions>(cluster => (cluster.ClusterId, cluster.ServiceId) = (options.ClusterId, options.ServiceId));
        if (standalone)
        {
            silo.ConfigureEndpoints(IPAddress.Loopback, options.SiloPort, options.GatewayPort);
            silo.AddDashboard();
        }

        silo.UseAdoNetClustering(adoNet => (adoNet.Invariant, adoNet.ConnectionString) = (AdoNetInvariant, connectionString));
        silo.AddAdoNetGrainStorage(GrainStorage.Name, adoNet => (adoNet.Invariant, adoNet.ConnectionString) = (AdoNetInvariant, connectionString));
        silo.UseAdoNetReminderService(adoNet => (adoNet.Invariant, adoNet.ConnectionString) = (AdoNetInvariant, connectionString));
        silo.Configure<ReminderOptions>(reminders => reminders.MinimumReminderPeriod = options.ReminderPeriodMin);
        return silo;
    }
}
