using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Payments.Api.Authentication;
using Payments.Api.Events;
using Payments.Api.Json;
using Payments.Api.Ledger;
using Payments.Api.Operations;
using Payments.Api.Payments;
using Payments.Api.Payouts;
using Payments.Api.RateLimiting;
using Payments.Api.Refunds;
using Payments.Api.Wallets;
using Payments.Api.Webhooks;
using Payments.Psp;
using Payments.Api.Reconciliation;
using Payments.Reconciliation;

namespace Payments.Api;

public static class ApiServiceCollectionExtensions
{
    public static IHostApplicationBuilder AddPaymentsApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ApiKeyOptions>().BindConfiguration(ApiKeyOptions.SectionName).ValidateOnStart();
        builder.Services.ConfigureHttpJsonOptions(options => ApiJson.Configure(options.SerializerOptions));
        builder.Services.AddSingleton<LedgerQueries>();
        builder.Services.AddSingleton<OperationsQueries>();
        builder.Services.AddSingleton<WebhookEventStore>();
        builder.Services.AddSingleton<EventQueries>();
        builder.Services.AddSingleton<WebhookEndpointStore>();
        builder.Services.AddWebhookOptions(builder.Configuration);
        builder.Services.AddStripePsp(builder.Configuration);
        builder.Services.AddSingleton<UnfinishedPaymentOrders>();
        builder.Services.AddSingleton<PayoutQueries>();
        builder.Services.AddSingleton<UnfinishedPayouts>();
        builder.Services.AddReconciliationStores(builder.Configuration);
        builder.Services.AddOptions<OperationsOptions>().BindConfiguration(OperationsOptions.SectionName).ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<StuckPaymentsMonitor>();
        builder.Services.AddHostedService(services => services.GetRequiredService<StuckPaymentsMonitor>());
        builder.Services.AddProblemDetails();
        builder.Services.AddPaymentsRateLimiting();
        builder.Services.AddOpenApi();
        return builder;
    }

    public static IEndpointRouteBuilder MapPaymentsGatewayApi(this IEndpointRouteBuilder app)
    {
        // Rate limited (the middleware is UseRateLimiter): by API key, and the PSP's webhooks by their own bucket; OpenAPI is not.
        var api = app.MapGroup(string.Empty).RequireRateLimiting(RateLimitingRegistration.ApiPolicy);
        api.MapPaymentsApi();
        api.MapRefundsApi();
        app.MapGroup(string.Empty).RequireRateLimiting(RateLimitingRegistration.PspWebhooksPolicy).MapWebhooksApi();
        api.MapWalletsApi();
        api.MapPayoutsApi();
        api.MapLedgerApi();
        api.MapOperationsApi();
        api.MapReconciliationApi();
        api.MapEventsApi();
        app.MapOpenApi();
        return app;
    }
}
