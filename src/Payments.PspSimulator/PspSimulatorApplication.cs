using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Payments.PspSimulator;

/// <summary>Builds the PSP simulator: a Stripe-compatible HTTP API answering the subset Stripe.net calls for us.</summary>
public static class PspSimulatorApplication
{
    public const string DefaultUrl = "http://127.0.0.1:5090";

    /// <summary>
    /// Builds (does not start) the simulator. It listens on <paramref name="urls"/> if given, else on
    /// <c>--urls</c> from <paramref name="args"/> (or <c>PSPSIM_URLS</c>), else on <see cref="DefaultUrl"/>.
    /// Configuration comes only from <paramref name="args"/> and <c>PSPSIM_*</c> environment variables,
    /// so that a host process's own settings (<c>ASPNETCORE_URLS</c>, appsettings.json) never leak in.
    /// </summary>
    /// <param name="args">
    /// Command line: <c>--urls</c>, <c>--data-dir</c>, <c>--webhook-url</c>, <c>--webhook-secret</c>,
    /// <c>--processing-delay-ms</c> (how long <c>pm_sim_processing</c> stays <c>processing</c>, and each step of a
    /// payout takes; 2000 by default). Each also as a <c>PSPSIM_</c> environment variable: <c>PSPSIM_WEBHOOK_URL</c>, ...
    /// </param>
    /// <param name="urls">Where to listen; overrides <c>--urls</c>.</param>
    /// <param name="dataDirectory">
    /// Where the PSP's state (payment intents, idempotency records, attempt counters) is kept, so that it
    /// survives a restart of the process, even a killed one; overrides <c>--data-dir</c> (or
    /// <c>PSPSIM_DATA_DIR</c>). Created if missing. Without any, the state is in memory only. The state
    /// is loaded here, so a directory another simulator holds, or an unreadable state file, fails here.
    /// </param>
    /// <param name="webhooks">
    /// Where webhook events are sent and the secret they are signed with; overrides
    /// <c>--webhook-url</c> and <c>--webhook-secret</c> (secret by default
    /// <see cref="SimulatorWebhookOptions.DefaultSecret"/>). Without an address, events are recorded
    /// (<c>GET /_sim/events</c>) but not sent; a later start that has one sends those still undelivered.
    /// </param>
    public static WebApplication Build(string[] args, string? urls = null, string? dataDirectory = null, SimulatorWebhookOptions? webhooks = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(PspSimulatorApplication).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });

        builder.Configuration.Sources.Clear();
        builder.Configuration.AddEnvironmentVariables("PSPSIM_");
        builder.Configuration.AddCommandLine(args);
        builder.WebHost.UseUrls(urls ?? builder.Configuration["urls"] ?? DefaultUrl);

        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        dataDirectory ??= Setting(builder.Configuration, "data-dir");
        builder.Services.AddSingleton(_ => new SimulatorStore(dataDirectory));
        builder.Services.AddSingleton<SimulatorFaults>();
        builder.Services.AddSingleton<Reporting.SettlementFaults>();

        webhooks ??= Setting(builder.Configuration, "webhook-url") is { } webhookUrl
            ? new SimulatorWebhookOptions(webhookUrl, Setting(builder.Configuration, "webhook-secret") ?? SimulatorWebhookOptions.DefaultSecret)
            : null;
        builder.Services.AddSingleton(services => new SimulatorWebhooks(services.GetRequiredService<SimulatorFaults>(), webhooks));
        var processingDelay = Setting(builder.Configuration, "processing-delay-ms") is { } delayText
            ? TimeSpan.FromMilliseconds(int.Parse(delayText, NumberStyles.None, CultureInfo.InvariantCulture))
            : SimulatorSettings.DefaultProcessingDelay;
        builder.Services.AddSingleton(new SimulatorSettings(processingDelay));
        builder.Services.AddHostedService<WebhookDelivery>();
        builder.Services.AddHostedService<DelayedOutcomes>();

        var app = builder.Build();
        _ = app.Services.GetRequiredService<SimulatorStore>();
        app.Use(StripeApi.RequireApiKeyAsync);
        app.Use(StripeApi.DelayAsync);
        StripeApi.Map(app);
        return app;
    }

    /// <summary>A setting from the command line (<c>--some-name</c>) or the environment (<c>PSPSIM_SOME_NAME</c>).</summary>
    private static string? Setting(IConfiguration configuration, string name) =>
        configuration[name] is { Length: > 0 } value ? value
        : configuration[name.Replace('-', '_').ToUpperInvariant()] is { Length: > 0 } fromEnvironment ? fromEnvironment
        : null;
}
