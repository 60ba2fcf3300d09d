using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Payments.Core.Events;

namespace Payments.Api.Events;

public static class WebhookOptionsRegistration
{
    /// <summary>Webhooks:*, with private networks allowed by default only in Development (silos and gateways alike).</summary>
    public static IServiceCollection AddWebhookOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>()
            .Bind(configuration.GetSection(WebhookOptions.SectionName))
            .PostConfigure<IHostEnvironment>((options, environment) => options.AllowPrivateNetworks ??= environment.IsDevelopment())
            .Validate(options => options.RetryDelayBase > TimeSpan.Zero && options.RetryDelayMax >= options.RetryDelayBase, "Webhooks:RetryDelayBase must be positive and at most RetryDelayMax.")
            .Validate(options => options.AttemptTimeout > TimeSpan.Zero && options.SweepPeriod > TimeSpan.Zero, "Webhooks:AttemptTimeout and SweepPeriod must be positive.")
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return services;
    }
}
