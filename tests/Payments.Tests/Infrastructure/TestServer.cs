using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Payments.Server.Hosting;

namespace Payments.Tests.Infrastructure;

/// <summary>The real server (silo, gateway API, PSP simulator, private PostgreSQL) in this process, on free ports.</summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string MerchantKey = "sk_test_merchant_a";
    public const string OtherMerchantKey = "sk_test_merchant_b";
    public const string OperatorKey = "sk_test_operator";
    public const string WebhookSecret = "whsec_test_payments";
    public const string RotatedWebhookSecret = "whsec_test_rotated";

    private TestServer(PaymentsServer server, string dataDirectory, Uri apiAddress, Uri pspAddress)
    {
        Server = server;
        DataDirectory = dataDirectory;
        ApiAddress = apiAddress;
        PspAddress = pspAddress;
    }

    public PaymentsServer Server { get; }

    public string DataDirectory { get; }

    public Uri ApiAddress { get; }

    public Uri PspAddress { get; }

    /// <param name="logging">Runs after the test defaults, e.g. to add a provider that captures what the server logs.</param>
    public static async Task<TestServer> StartAsync(string dataDirectory, IDictionary<string, string?>? settings = null, Action<ILoggingBuilder>? logging = null)
    {
        var apiAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var pspAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var configuration = new Dictionary<string, string?>
        {
            ["urls"] = apiAddress.ToString().TrimEnd('/'),
            ["Database:DataDirectory"] = dataDirectory,
            ["Server:DurableDatabase"] = "false",
            ["Server:SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Server:GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Psp:BaseUrl"] = pspAddress.ToString().TrimEnd('/'),
            ["Auth:ApiKeys:0:Key"] = MerchantKey,
            ["Auth:ApiKeys:0:MerchantId"] = "merchant_a",
            ["Auth:ApiKeys:1:Key"] = OtherMerchantKey,
            ["Auth:ApiKeys:1:MerchantId"] = "merchant_b",
            ["Auth:ApiKeys:2:Key"] = OperatorKey,
            ["Auth:ApiKeys:2:Role"] = "Operator",
            // Fast retries, so that faults play out within a test's time. The reminder keeps its production period:
            // in-process retries must not depend on it.
            ["PaymentOrders:Retry:DelayBase"] = "00:00:00.050",
            ["PaymentOrders:Retry:DelayMax"] = "00:00:00.500",
            ["PaymentOrders:Retry:AttemptsMax"] = "12",
            // Generous, so that a slow machine does not turn an answer into an extra attempt (tests count attempts);
            // lost answers are simulated by dropped connections, which need no timeout.
            ["Psp:RequestTimeout"] = "00:00:10",
            ["Operations:StuckAfter"] = "00:00:00",
            // The PSP's own signing secret first (the simulator signs with it), then one being rotated in.
            ["Psp:WebhookSecrets:0"] = WebhookSecret,
            ["Psp:WebhookSecrets:1"] = RotatedWebhookSecret,
            // A payment whose webhook never comes is looked up at the PSP after this long. Well past the simulator's
            // 2 s for pm_sim_processing, so that tests which expect the webhook to finish an order are not beaten
            // by the poll on a slow machine.
            ["PaymentOrders:PspPollAfter"] = "00:00:15",
            // A test asks for the runs it wants; the daily one would reconcile whatever the shared simulator did yesterday.
            ["Reconciliation:DailyRuns"] = "false",
            // Tests' webhook receivers listen on loopback; a receiver that fails is retried within a test's time.
            ["Webhooks:AllowPrivateNetworks"] = "true",
            ["Webhooks:RetryDelayBase"] = "00:00:00.050",
            ["Webhooks:RetryDelayMax"] = "00:00:00.500",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Orleans"] = "Error",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var server = await PaymentsServer.StartAsync([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(configuration);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            logging?.Invoke(builder.Logging);
        });
        return new TestServer(server, dataDirectory, apiAddress, pspAddress);
    }

    public static string NewDataDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "payments-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        return directory;
    }

    public HttpClient CreateClient(string? apiKey = MerchantKey)
    {
        var client = new HttpClient { BaseAddress = ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public HttpClient CreatePspClient() => new() { BaseAddress = PspAddress, Timeout = TimeSpan.FromSeconds(30) };

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
