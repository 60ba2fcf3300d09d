using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Payments.Database;

namespace Payments.Tests.Infrastructure;

/// <summary>
/// The production shape as processes on loopback, started the way docker-compose.yml starts its services: one PostgreSQL
/// (this test process runs it, like the compose file's database service), the PSP simulator with its webhook URL pointing
/// at the gateway, silos (<c>--Server:Role=Silo</c>, each its own silo and gateway port) and one gateway
/// (<c>--Server:Role=Gateway</c>), all sharing <c>ConnectionStrings__Payments</c>. A silo can be killed with SIGKILL and
/// started again on its ports, as a new generation.
/// </summary>
internal sealed class ProcessCluster : IAsyncDisposable
{
    public const string MerchantKey = "sk_test_demo_merchant";
    public const string OperatorKey = "sk_test_demo_operator";
    private const string WebhookSecret = "whsec_dev_payments_orleans";

    private readonly LocalPostgres _postgres;
    private readonly (int Api, int Silo, int Gateway)[] _siloPorts;
    private readonly ServerProcess?[] _silos;
    private readonly int[] _generations;
    private readonly string[] _settings;
    private ServerProcess? _simulator;
    private ServerProcess? _gateway;

    private ProcessCluster(string dataDirectory, LocalPostgres postgres, int silos, IEnumerable<string> settings)
    {
        _settings = [.. TestSettings, .. settings];
        DataDirectory = dataDirectory;
        _postgres = postgres;
        _siloPorts = Enumerable.Range(0, silos).Select(_ => (FreePort.Next(), FreePort.Next(), FreePort.Next())).ToArray();
        _silos = new ServerProcess?[silos];
        _generations = new int[silos];
        GatewayAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        PspAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
    }

    public string DataDirectory { get; }

    public Uri GatewayAddress { get; }

    public Uri PspAddress { get; }

    public string ConnectionString => _postgres.ConnectionString;

    /// <summary>Starts the cluster; <paramref name="settings"/> (<c>--Name=value</c>) go to every silo and the gateway after <see cref="TestSettings"/>.</summary>
    public static async Task<ProcessCluster> StartAsync(int silos, IEnumerable<string>? settings = null)
    {
        var dataDirectory = TestServer.NewDataDirectory();
        var postgres = await LocalPostgres.StartAsync(dataDirectory, durable: false, NullLogger.Instance, CancellationToken.None);
        var cluster = new ProcessCluster(dataDirectory, postgres, silos, settings ?? []);
        try
        {
            cluster._simulator = await ServerProcess.LaunchAsync(ServerProcess.BuiltAssemblyPath("Payments.PspSimulator"),
            [
                "--urls", cluster.PspAddress.ToString().TrimEnd('/'),
                "--data-dir", Path.Combine(dataDirectory, "psp-simulator"),
                "--webhook-url", new Uri(cluster.GatewayAddress, "/v1/psp/webhooks").ToString(),
                "--webhook-secret", WebhookSecret,
            ], new Dictionary<string, string>(), dataDirectory, "psp-simulator.log", cluster.PspAddress, "/_sim/clock");

            // The first silo applies the schema; the others start together once it has (compose: depends_on, healthy).
            await cluster.StartSiloAsync(0);
            await Task.WhenAll(Enumerable.Range(1, silos - 1).Select(cluster.StartSiloAsync));
            cluster._gateway = await ServerProcess.LaunchAsync(ServerProcess.BuiltAssemblyPath("Payments.Server"),
                [$"--urls={cluster.GatewayAddress.ToString().TrimEnd('/')}", "--Server:Role=Gateway", .. cluster._settings],
                cluster.Environment(), dataDirectory, "gateway.log", cluster.GatewayAddress, "/health/ready");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts silo <paramref name="index"/> (again, after a kill: same ports, a new generation) and waits until it is ready.</summary>
    public async Task StartSiloAsync(int index)
    {
        var (api, silo, gateway) = _siloPorts[index];
        var address = new Uri($"http://127.0.0.1:{api}");
        _silos[index] = await ServerProcess.LaunchAsync(ServerProcess.BuiltAssemblyPath("Payments.Server"),
            [
                $"--urls={address.ToString().TrimEnd('/')}",
                "--Server:Role=Silo",
                $"--Server:SiloPort={silo.ToString(CultureInfo.InvariantCulture)}",
                $"--Server:GatewayPort={gateway.ToString(CultureInfo.InvariantCulture)}",
                .. _settings,
            ],
            Environment(), DataDirectory, $"silo-{index + 1}.{++_generations[index]}.log", address, "/health/ready");
    }

    public int Silos => _silos.Length;

    public void KillSilo(int index) => (_silos[index] ?? throw new InvalidOperationException($"silo {index + 1} is not running")).KillHard();

    /// <summary>The silo's Orleans port, as the membership table names it.</summary>
    public int SiloPort(int index) => _siloPorts[index].Silo;

    /// <summary>Whether the membership table holds silo <paramref name="index"/>'s latest generation as dead (Orleans' status 6).</summary>
    public async Task<bool> IsDeclaredDeadAsync(int index)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT status FROM orleans_membership WHERE port = @port ORDER BY generation DESC LIMIT 1", connection);
        command.Parameters.AddWithValue("port", SiloPort(index));
        return await command.ExecuteScalarAsync() is 6;
    }

    public HttpClient CreateClient(string apiKey = MerchantKey)
    {
        var client = new HttpClient { BaseAddress = GatewayAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        return client;
    }

    public HttpClient CreatePspClient() => new() { BaseAddress = PspAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>The last lines of every process's log, for a failure message.</summary>
    public string LogTails() => string.Join("\n", new[] { _gateway }.Concat(_silos).OfType<ServerProcess>()
        .Select(process => string.Join("\n", process.ReadLog().Split('\n').TakeLast(30))));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in new[] { _gateway }.Concat(_silos).Append(_simulator))
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }

        await _postgres.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }

    /// <summary>What compose's services share through the environment: the database, the PSP and its webhook secret.</summary>
    private Dictionary<string, string> Environment() => new()
    {
        ["ConnectionStrings__Payments"] = ConnectionString,
        ["Psp__BaseUrl"] = PspAddress.ToString().TrimEnd('/'),
        ["Psp__WebhookSecrets__0"] = WebhookSecret,
        ["Server__RunPspSimulator"] = "false",
    };

    /// <summary>
    /// What a test changes from production: quiet logs; no daily reconciliation (it would fetch the simulator's reports in
    /// the middle of the load); orders' reminders every few seconds, so an order whose silo died mid-way is driven on within
    /// the test. The failover settings and the idempotency lock (a minute) are production's: a begin asked again after a
    /// silo died with its answer is known by its request's token, so no checkout waits out the lock.
    /// </summary>
    private static readonly string[] TestSettings =
    [
        "--Logging:LogLevel:Default=Warning",
        "--Reconciliation:DailyRuns=false",
        "--Server:ReminderPeriodMin=00:00:01",
        "--PaymentOrders:ReminderPeriod=00:00:02",
    ];
}
