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
    public static WebApplication Build(string[] args, string? urls = null)
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

        builder.Services.AddSingleton<SimulatorStore>();

        var app = builder.Build();
        app.Use(StripeApi.RequireApiKeyAsync);
        StripeApi.Map(app);
        return app;
    }
}
