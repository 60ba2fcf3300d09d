using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Payments.Core.Events;
using Payments.Grains.DeadLetters;
using Payments.Grains.Events;
using Payments.Grains.Idempotency;
using Payments.Api;
using Payments.Api.Events;
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
        services.AddOptions<PaymentOrderOptions>().Bind(configuration.GetSection(PaymentOrderOptions.SectionName)).ValidateDataAnnotations()
            // Data annotations do not look into nested options: the retry policy is checked here, so a bad one stops the start.
            .Validate(options => options.Retry.Problems().Count == 0, "PaymentOrders:Retry is invalid: AttemptsMax must be 1..1000, DelayBase positive and at most DelayMax.")
            // An idempotency window of zero is meaningful: never trust the PSP to remember a key, always look first.
            .Validate(options => options.ReminderPeriod > TimeSpan.Zero && options.PspPollAfter > TimeSpan.Zero && options.PspIdempotencyWindow >= TimeSpan.Zero
                    && options.ActionTimeout > TimeSpan.Zero,
                "PaymentOrders:ReminderPeriod, PspPollAfter and ActionTimeout must be positive, PspIdempotencyWindow not negative.")
            .ValidateOnStart();
        services.AddOptions<FulfillmentOptions>().Bind(configuration.GetSection(FulfillmentOptions.SectionName))
            .Validate(options => options.AutoAfter > TimeSpan.Zero, "Fulfillment:AutoAfter must be positive.").ValidateOnStart();
        services.AddOptions<Wallets.WalletOptions>().Bind(configuration.GetSection(Wallets.WalletOptions.SectionName))
            .Validate(options => options.ForgetAfter >= TimeSpan.Zero, "Wallets:ForgetAfter must not be negative.").ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<Checkout.CheckoutOptions>().Bind(configuration.GetSection(Checkout.CheckoutOptions.SectionName));
        services.AddOptions<Storage.GrainStateOptions>().Bind(configuration.GetSection(Storage.GrainStateOptions.SectionName))
            .Validate(options => Enum.IsDefined(options.WriteFormat), "GrainState:WriteFormat must be Binary or Json.").ValidateOnStart();
        services.AddOptions<IdempotencyOptions>().Bind(configuration.GetSection(IdempotencyOptions.SectionName))
            // The sweep must know the gateway's lock timeout to leave keys of requests in flight alone.
            .PostConfigure(options => options.LockTimeout = configuration.GetSection(ApiOptions.SectionName).GetValue(nameof(ApiOptions.IdempotencyLockTimeout), options.LockTimeout))
            .Validate(options => options.Problems().Count == 0, "Idempotency is invalid: Retention and SweepPeriod must be positive, SweepMargin not negative, SweepBatchSize 1..100000.")
            .ValidateOnStart();
        services.AddSingleton<IdempotencyExpiryStore>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, IdempotencyExpiryStartup>();
        services.AddSingleton<Storage.WakeUpSweep>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, PaymentOrderSweepStartup>();
        services.AddOptions<PayoutOptions>().Bind(configuration.GetSection(PayoutOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DeadLetterStore>();
        services.AddSingleton<EventLog>();
        services.AddSingleton<EventOutbox>();
        services.AddSingleton<WebhookDeliveryStore>();
        services.AddSingleton<WebhookSender>();
        services.AddWebhookOptions(configuration);
        services.AddHttpClient(WebhookSender.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(provider => WebhookSender.Handler(provider.GetRequiredService<IOptions<WebhookOptions>>().Value))
            // The attempt has its own timeout (WebhookOptions.AttemptTimeout); no retries here: the notifier owns them.
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton<PayoutIndex>();
        services.AddReconciliationStores(configuration);
        services.AddStripePsp(configuration);
        return services;
    }
}
