using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.Configuration;
using Orleans.TestingHost;
using Payments.Database;
using Payments.PspSimulator;
using Payments.Server.Hosting;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Cluster;

/// <summary>An Orleans test cluster of two silos whose clustering, grain state and reminders live in PostgreSQL.</summary>
public class ClusterFixture : IAsyncLifetime
{
    private const string ClusterId = "payments-test-cluster";
    private const string ServiceId = "payments-test-service";

    private readonly string _dataDirectory = TestServer.NewDataDirectory();
    private PaymentsDatabase? _database;
    private WebApplication? _pspSimulator;

    public TestCluster Cluster { get; private set; } = null!;

    public NpgsqlDataSource Database => _database!.DataSource;

    public Uri PspAddress { get; } = new($"http://127.0.0.1:{FreePort.Next()}");

    public async Task InitializeAsync()
    {
        _database = await PaymentsDatabase.OpenAsync(null, _dataDirectory, durable: false, NullLogger.Instance, CancellationToken.None);
        _pspSimulator = PspSimulatorApplication.Build([], PspAddress.ToString().TrimEnd('/'));
        await _pspSimulator.StartAsync();

        var builder = new TestClusterBuilder(2);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ClusterId = ClusterId;
        builder.Options.ServiceId = ServiceId;
        builder.Properties["ConnectionStrings:Payments"] = _database.ConnectionString;
        builder.Properties["Psp:BaseUrl"] = PspAddress.ToString().TrimEnd('/');
        builder.Properties["Psp:RequestTimeout"] = "00:00:02";
        builder.Properties["PaymentOrders:Retry:DelayBase"] = "00:00:00.050";
        builder.Properties["PaymentOrders:Retry:DelayMax"] = "00:00:00.500";
        builder.Properties["PaymentOrders:Retry:AttemptsMax"] = "200";
        builder.Properties["PaymentOrders:ReminderPeriod"] = "00:00:02";
        // Reconciliation runs only when a test starts one (no daily run), and a run a killed silo left is taken up within seconds.
        builder.Properties["Reconciliation:TickPeriod"] = "00:00:02";
        builder.Properties["Reconciliation:DailyRuns"] = "false";
        builder.Properties["Reconciliation:IdleTransactionTimeout"] = "00:00:05";
        builder.AddSiloBuilderConfigurator<PostgresSilo>();
        builder.AddClientBuilderConfigurator<PostgresClient>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        if (_pspSimulator is not null)
        {
            await _pspSimulator.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        Directory.Delete(_dataDirectory, recursive: true);
    }

    private sealed class PostgresSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var connectionString = silo.Configuration.GetConnectionString("Payments")!;
            silo.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
            silo.ConfigurePaymentsSilo(new ServerOptions { ClusterId = ClusterId, ServiceId = ServiceId, ReminderPeriodMin = TimeSpan.FromSeconds(1) }, connectionString, standalone: false);
            // Calls a test asks to fail, as calls to a dead silo's grains do (nothing fails unless a test asks).
            silo.AddIncomingGrainCallFilter<InjectedCallFailures>();
            // Declare a killed silo dead within seconds, so that its grains and reminders move on quickly.
            silo.Configure<ClusterMembershipOptions>(membership =>
            {
                membership.ProbeTimeout = TimeSpan.FromMilliseconds(500);
                membership.NumMissedProbesLimit = 2;
                membership.NumVotesForDeathDeclaration = 1;
                membership.TableRefreshTimeout = TimeSpan.FromSeconds(1);
            });
        }
    }

    private sealed class PostgresClient : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder client) =>
            client.UseAdoNetClustering(adoNet => (adoNet.Invariant, adoNet.ConnectionString) = ("Npgsql", configuration.GetConnectionString("Payments")));
    }
}

[CollectionDefinition(Name)]
public sealed class FailoverClusterCollection : ICollectionFixture<FailoverClusterFixture>
{
    public const string Name = "cluster-failover";
}

/// <summary>A cluster of its own, since its tests kill silos.</summary>
public sealed class FailoverClusterFixture : ClusterFixture;

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
