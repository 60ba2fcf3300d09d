using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Payments.Grains.DeadLetters;
using Payments.Grains.PaymentOrders;
using Payments.Grains.Payouts;
using Payments.Reconciliation;
using Payments.Psp;

namespace Payments.Grains;

public static class GrainServiceCollectionExtensions
{
    /// <summary>What the grains need from the silo's container: the PSP, options and the clock.</summary>
    public static IServiceCollection AddPaymentGrains(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PaymentOrderOptions>().Bind(configuration.GetSection(PaymentOrderOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<FulfillmentOptions>().Bind(configuration.GetSection(FulfillmentOptions.SectionName))
            .Validate(options => options.AutoAfter > TimeSpan.Zero, "Fulfillment:AutoAfter must be positive.").ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<PayoutOptions>().Bind(configuration.GetSection(PayoutOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DeadLetterStore>();
        services.AddSingleton<PayoutIndex>();
        services.AddReconciliationStores(configuration);
        services.AddStripePsp(configuration);
        return services;
    }
}
