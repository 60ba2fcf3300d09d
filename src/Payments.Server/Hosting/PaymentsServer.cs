using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Payments.Server.Dashboard;
using Payments.Api;
using Payments.Database;
using Payments.Grains;
using Payments.PspSimulator;
using Payments.Server.Telemetry;
using Payments.Server.Health;

namespace Payments.Server.Hosting;

/// <summary>
/// One process of the payments system: the database (configured, or a private PostgreSQL), the PSP
/// simulator, an Orleans silo and the gateway API, according to its role.
/// </summary>
public sealed class PaymentsServer : IAsyncDisposable
{
    private const string DefaultUrl = "http://127.0.0.1:5080";

    private readonly WebApplication _app;
    private readonly WebApplication? _pspSimulator;
    private readonly PaymentsDatabase _database;

    private PaymentsServer(WebApplication app, WebApplication? pspSimulator, PaymentsDatabase database)
    {
        _app = app;
        _pspSimulator = pspSimulator;
        _database = database;
    }

    public IServiceProvider Services => _app.Services;

    /// <summary>The addresses the gateway API listens on.</summary>
    public IReadOnlyCollection<string> Urls => _app.Urls.ToArray();

    public string DatabaseConnectionString => _database.ConnectionString;

    public static async Task<PaymentsServer> StartAsync(string[] args, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateBuilder(args);
        var besideBinaries = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (!File.Exists(Path.Combine(builder.Environment.ContentRootPath, "appsettings.json")) && File.Exists(besideBinaries))
        {
            // Started from another folder than its project's (`dotnet path/to/Payments.Server.dll`, as the bench and the
            // cluster scripts do), the content root has no appsettings.json and every framework category logged at
            // Information: a third of the server's CPU per order went to console lines. The file beside the binaries is
            // then the lowest layer, so the log levels are the same however the server is started.
            builder.Configuration.Sources.Insert(0, new JsonConfigurationSource
            {
                FileProvider = new PhysicalFileProvider(AppContext.BaseDirectory),
                Path = "appsettings.json",
                Optional = true,
            });
        }

        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        configure?.Invoke(builder);
        var options = builder.Configuration.GetSection(ServerOptions.SectionName).Get<ServerOptions>() ?? new ServerOptions();
        using var startupLogging = LoggerFactory.Create(logging => logging.AddConfiguration(builder.Configuration.GetSection("Logging")).AddSimpleConsole());
        var startupLogger = startupLogging.CreateLogger<PaymentsServer>();

        var dataDirectory = builder.Configuration["Database:DataDirectory"] ?? PaymentsDatabase.DefaultDataDirectory();
        var database = await PaymentsDatabase.OpenAsync(
            builder.Configuration.GetConnectionString(PaymentsDatabase.ConnectionStringName),
            dataDirectory,
            options.DurableDatabase,
            startupLogger,
            cancellationToken);
        WebApplication? pspSimulator = null;
        try
        {
            builder.Services.AddSingleton(database.DataSource);
            builder.Services.AddProblemDetails();
            if (options.Role is ServerRole.All && options.RunPspSimulator)
            {
                // The simulated PSP keeps its charges in the data directory: like a real PSP, it outlives our crashes.
                pspSimulator = PspSimulatorApplication.Build(
                    [],
                    builder.Configuration["Psp:BaseUrl"] ?? PspSimulatorApplication.DefaultUrl,
                    Path.Combine(dataDirectory, "psp-simulator"),
                    new SimulatorWebhookOptions(WebhookEndpoint(builder), builder.Configuration["Psp:WebhookSecrets:0"] ?? SimulatorWebhookOptions.DefaultSecret));
                await pspSimulator.StartAsync(cancellationToken);
            }

            builder.AddPaymentsCluster(options, database.ConnectionString);
            builder.AddPaymentsTelemetry(options.Role);
            builder.Services.AddHealthChecks()
                .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
                .AddCheck<ClusterHealthCheck>("cluster", tags: ["ready"]);
            if (options.Role is not ServerRole.Silo)
            {
                builder.AddPaymentsApi();
            }

            var app = builder.Build();
            app.UseRequestLog();
            app.UseProblemResponses();
            app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
            app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
            if (options.Role is not ServerRole.Silo)
            {
                app.UseRateLimiter();
                app.MapPaymentsGatewayApi();
            }

            if (options.Role is not ServerRole.Gateway)
            {
                app.MapOperatorDashboard(routePrefix: "/dashboard");
            }

            await app.StartAsync(cancellationToken);
            var server = new PaymentsServer(app, pspSimulator, database);
            server.PrintWhereEverythingListens(options);
            return server;
        }
        catch
        {
            if (pspSimulator is not null)
            {
                await pspSimulator.DisposeAsync();
            }

            await database.DisposeAsync();
            throw;
        }
    }

    /// <summary>Our own webhook endpoint, on the first address the gateway API listens on.</summary>
    private static string WebhookEndpoint(WebApplicationBuilder builder)
    {
        var urls = builder.Configuration["urls"] ?? builder.Configuration["ASPNETCORE_URLS"] ?? DefaultUrl;
        return urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0].TrimEnd('/') + "/v1/psp/webhooks";
    }

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_pspSimulator is not null)
        {
            await _pspSimulator.StopAsync();
            await _pspSimulator.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private void PrintWhereEverythingListens(ServerOptions options)
    {
        var logger = _app.Services.GetRequiredService<ILogger<PaymentsServer>>();
        var api = string.Join(", ", _app.Urls);
        logger.LogInformation("Payments server ({Role}) ready", options.Role);
        logger.LogInformation("  gateway API:     {Urls}/v1 (OpenAPI at /openapi/v1.json, health at /health/ready)", api);
        if (options.Role is not ServerRole.Gateway)
        {
            logger.LogInformation("  dashboard:       {Urls}/dashboard", api);
            logger.LogInformation("  silo:            127.0.0.1:{SiloPort}, gateway 127.0.0.1:{GatewayPort}", options.SiloPort, options.GatewayPort);
        }

        if (_pspSimulator is not null)
        {
            logger.LogInformation("  PSP simulator:   {Urls}", string.Join(", ", _pspSimulator.Urls));
        }

        logger.LogInformation("  database:        {Database}", _database.IsLocalServer
            ? $"private PostgreSQL on 127.0.0.1:{new Npgsql.NpgsqlConnectionStringBuilder(_database.ConnectionString).Port}"
            : "configured by ConnectionStrings:Payments");
    }
}
