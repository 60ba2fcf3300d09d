using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Core.PaymentOrders;
using Payments.Grains.Storage;

namespace Payments.Grains.PaymentOrders;

[Alias("Payments.IPaymentOrderSweepGrain")]
public interface IPaymentOrderSweepGrain : IGrainWithIntegerKey
{
    /// <summary>Registers this shard's reminder (once for the cluster; again only updates its period).</summary>
    [Alias("EnsureScheduledAsync")]
    Task EnsureScheduledAsync();

    /// <summary>Wakes the payment orders of this shard whose stored wake-up is due; answers how many it woke.</summary>
    [Alias("SweepAsync")]
    Task<int> SweepAsync();
}

/// <summary>
/// The durable net of the payment orders: each order stores its wake-up beside its state (<see cref="PaymentOrderWakeUps"/>),
/// and these few grains, one reminder each, wake the due ones every <see cref="PaymentOrderOptions.ReminderPeriod"/>. It
/// replaces a reminder per order, which cost each order three statements and held every paid order's reminder in the
/// reminder service's memory until it was fulfilled. The shards split the orders by their id hash, and being reminders
/// they spread over the silos and move to a live one when theirs dies.
/// </summary>
internal sealed class PaymentOrderSweepGrain(WakeUpSweep sweep, IOptions<PaymentOrderOptions> options, TimeProvider time, ILogger<PaymentOrderSweepGrain> logger)
    : Grain, IPaymentOrderSweepGrain, IRemindable
{
    public const int Shards = 4;
    private const string ReminderName = "payment_order_sweep";
    private const int PageSize = 200;

    /// <summary>Orders woken at once: enough to overlap their round trips, few enough not to crowd out the traffic.</summary>
    private const int WakeUpsInFlight = 16;

    /// <summary>How long one sweep keeps waking: well inside a call's timeout. A larger backlog is taken up by the next ticks.</summary>
    private static readonly TimeSpan SweepBudget = TimeSpan.FromSeconds(10);

    private static readonly string[] Reasons = [DurableWakeUp.Drive, DurableWakeUp.AutoFulfill];

    private int Shard => (int)this.GetPrimaryKeyLong();

    public Task EnsureScheduledAsync() => this.RegisterOrUpdateReminder(ReminderName, options.Value.ReminderPeriod, options.Value.ReminderPeriod);

    public Task ReceiveReminder(string reminderName, TickStatus status) => SweepAsync();

    public async Task<int> SweepAsync()
    {
        var started = Stopwatch.StartNew();
        var dueBy = time.GetUtcNow();
        var woken = 0;
        foreach (var reason in Reasons)
        {
            DueWakeUp? after = null;
            while (started.Elapsed < SweepBudget)
            {
                var page = await sweep.DuePageAsync(PaymentOrderGrain.StateName, reason, dueBy, Shard, Shards, after, PageSize);
                // A few at a time, each started from this activation (grain calls must be: no thread-pool loop here).
                foreach (var batch in page.Chunk(WakeUpsInFlight))
                {
                    await Task.WhenAll(batch.Select(due => WakeAsync(due.GrainKey)));
                }
                woken += page.Count;
                if (page.Count < PageSize)
                {
                    break;
                }

                after = page[^1];
            }
        }

        if (woken > 0)
        {
            logger.LogInformation("Payment order sweep {Shard}: woke {Count} orders in {Elapsed} ms", Shard, woken, started.ElapsedMilliseconds);
        }

        return woken;
    }

    /// <summary>One order. A failure is its own: it stays due, and the next sweep wakes it again.</summary>
    private async Task WakeAsync(string paymentOrderId)
    {
        try
        {
            await GrainFactory.GetGrain<IPaymentOrderGrain>(paymentOrderId).WakeAsync();
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Payment order sweep {Shard}: waking {PaymentOrderId} failed; it stays due", Shard, paymentOrderId);
        }
    }
}

/// <summary>Registers the sweeps' reminders when a silo has started, so that no host has to remember to.</summary>
internal sealed class PaymentOrderSweepStartup(IServiceProvider services) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe<PaymentOrderSweepStartup>(ServiceLifecycleStage.Active, async _ =>
        {
            var grains = services.GetRequiredService<IGrainFactory>();
            for (var shard = 0; shard < PaymentOrderSweepGrain.Shards; shard++)
            {
                await grains.GetGrain<IPaymentOrderSweepGrain>(shard).EnsureScheduledAsync();
            }
        });
}
