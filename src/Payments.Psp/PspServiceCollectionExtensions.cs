using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Payments.Psp;

public static class PspServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IPspClient"/> as one <see cref="StripePspClient"/> for the process, over an HTTP client whose
    /// timeout is <see cref="PspOptions.RequestTimeout"/>, with <see cref="PspOptions"/> bound from
    /// the <c>Psp</c> configuration section, and <see cref="StripeWebhookVerifier"/> as a singleton
    /// (with <see cref="TimeProvider.System"/> unless a <see cref="TimeProvider"/> is already registered). Also
    /// <see cref="ISettlementFiles"/> as <see cref="StripeSettlementFiles"/>, a typed HTTP client without a timeout of its
    /// own (it sets deadlines per call, and a file download takes as long as the file), with <see cref="BankOptions"/>
    /// bound from the <c>Bank</c> section.
    /// </summary>
    public static IServiceCollection AddStripePsp(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var section = configuration.GetSection(PspOptions.SectionName);
        services.AddOptions<PspOptions>()
            .Bind(section)
            .Configure(options =>
            {
                // The binder appends configured array items to the default ones; configured
                // secrets must replace the development default, not add to it.
                var secrets = section.GetSection(nameof(PspOptions.WebhookSecrets)).Get<string[]>();
                if (secrets is { Length: > 0 })
                {
                    options.WebhookSecrets = secrets;
                }
            })
            .Validate(options => IsHttpUrl(options.BaseUrl), "Psp:BaseUrl must be an absolute http(s) URL.")
            .Validate(options => !string.IsNullOrWhiteSpace(options.ApiKey) && !options.ApiKey.Any(char.IsWhiteSpace),
                "Psp:ApiKey must be set and contain no whitespace.")
            .Validate(options => options.RequestTimeout > TimeSpan.Zero,
                "Psp:RequestTimeout must be positive.")
            .Validate(options => options.ReportRunTimeout > TimeSpan.Zero,
                "Psp:ReportRunTimeout must be positive.")
            .Validate(options => options.WebhookSecrets is { Length: > 0 } && options.WebhookSecrets.All(s => !string.IsNullOrEmpty(s)),
                "Psp:WebhookSecrets must hold at least one non-empty secret.")
            .ValidateOnStart();

        // One client for the process, not a typed client per grain activation: Stripe.net's SystemNetHttpClient works out
        // its user-agent strings by reflection when it is made, and that was 2 % of the server's CPU under load. Its
        // HttpClient lives as long, so the connections are renewed by their own lifetime instead of by handler rotation.
        services.AddHttpClient(StripePspClient.HttpClientName, (provider, httpClient) =>
            {
                httpClient.Timeout = provider.GetRequiredService<IOptions<PspOptions>>().Value.RequestTimeout;
            })
            .UseSocketsHttpHandler((handler, _) => handler.PooledConnectionLifetime = TimeSpan.FromMinutes(2))
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddSingleton(provider => new StripePspClient(
            provider.GetRequiredService<IHttpClientFactory>().CreateClient(StripePspClient.HttpClientName),
            provider.GetRequiredService<IOptions<PspOptions>>(),
            provider.GetService<ILogger<StripePspClient>>()));
        services.AddSingleton<IPspClient>(provider => provider.GetRequiredService<StripePspClient>());
        // The same client, seen as the PSP's record of payment intents (read by the invariants).
        services.AddSingleton<IPspPaymentIntents>(provider => provider.GetRequiredService<StripePspClient>());

        services.AddOptions<BankOptions>()
            .Bind(configuration.GetSection(BankOptions.SectionName))
            .Validate(options => string.IsNullOrEmpty(options.BaseUrl) || IsHttpUrl(options.BaseUrl),
                "Bank:BaseUrl must be empty (the PSP's base) or an absolute http(s) URL.")
            .ValidateOnStart();
        services.AddHttpClient<ISettlementFiles, StripeSettlementFiles>(httpClient => httpClient.Timeout = Timeout.InfiniteTimeSpan);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StripeWebhookVerifier>();

        return services;
    }

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
}
