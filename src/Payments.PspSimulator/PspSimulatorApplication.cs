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
    /// <param name="args">Command line: <c>--urls</c>, <c>--data-dir</c>.</param>
    /// <param name="urls">Where to listen; overrides <c>--urls</c>.</param>
    /// <param name="dataDirectory">
    /// Where the PSP's state (payment intents, idempotency records, attempt counters) is kept, so that it
    /// survives a restart of the process, even a killed one; overrides <c>--data-dir</c> (or
    /// <c>PSPSIM_DATA_DIR</c>). Created if missing. Without any, the state is in memory only. The state
    /// is loaded here, so a directory another simulator holds, or an unreadable state file, fails here.
    /// </param>
    public static WebApplication Build(string[] args, string? urls = null, string? dataDirectory = null)
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

        dataDirectory ??= builder.Configuration["data-dir"] ?? builder.Configuration["DATA_DIR"];
        builder.Services.AddSingleton(_ => new SimulatorStore(dataDirectory));
        builder.Services.AddSingleton<SimulatorFaults>();

        var app = builder.Build();
        _ = app.Services.GetRequiredService<SimulatorStore>();
        app.Use(StripeApi.RequireApiKeyAsync);
        app.Use(StripeApi.DelayAsync);
        StripeApi.Map(app);
        return app;
    }
}
