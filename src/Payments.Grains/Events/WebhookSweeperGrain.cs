using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Core.Events;

namespace Payments.Grains.Events;

[Alias("Payments.IWebhookSweeperGrain")]
public interface IWebhookSweeperGrain : IGrainWithIntegerKey
{
    /// <summary>Registers the sweeper's reminder (once for the cluster; again is a no-op).</summary>
    [Alias("EnsureScheduledAsync")]
    Task EnsureScheduledAsync();

    /// <summary>Wakes the notifier of every merchant with a delivery due.</summary>
    [Alias("SweepAsync")]
    Task SweepAsync();
}

/// <summary>
/// The net under the event stream: a reminder (and every silo's start) wakes the notifiers of merchants whose deliveries
/// are due, so a stream message lost with a silo, a retry due while its notifier was deactivated, or a delivery cut off by
/// a crash is sent all the same.
/// </summary>
internal sealed class WebhookSweeperGrain(WebhookDeliveryStore store, IOptions<WebhookOptions> options, TimeProvider time, ILogger<WebhookSweeperGrain> logger)
    : Grain, IWebhookSweeperGrain, IRemindable
{
    public const long Key = 0;
    private const string ReminderName = "sweep";

    public Task EnsureScheduledAsync() => this.RegisterOrUpdateReminder(ReminderName, options.Value.SweepPeriod, options.Value.SweepPeriod);

    public async Task SweepAsync()
    {
        var merchants = await store.MerchantsDueAsync(time.GetUtcNow());
        foreach (var merchant in merchants)
        {
            await GrainFactory.GetGrain<IWebhookNotifierGrain>(merchant).WakeAsync();
        }

        if (merchants.Count > 0)
        {
            logger.LogInformation("Woke the webhook notifiers of {Count} merchants with deliveries due", merchants.Count);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => SweepAsync();
}
