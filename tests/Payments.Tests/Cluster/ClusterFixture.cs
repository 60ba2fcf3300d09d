using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.TestingHost;
using Payments.Database;
using Payments.PspSimulator;
using Payments.Server.Hosting;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Cluster;

/// <summary>An Orleans test cluster of two silos whose clustering, grain state and reminders live in PostgreSQL.</summary>
public sealed class ClusterFixture : IAsyncLifetime
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
            silo.ConfigurePaymentsSilo(new ServerOptions { ClusterId = ClusterId, ServiceId = ServiceId }, connectionString, standalone: false);
        }
    }

    private sealed class PostgresClient : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder client) =>
            client.UseAdoNetClustering(adoNet => (adoNet.Invariant, adoNet.ConnectionString) = ("Npgsql", configuration.GetConnectionString("Payments")));
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
