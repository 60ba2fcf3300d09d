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
internal sealed class PaymentOrderSweepGrain(WakeUpSweep sweep, IReminderTable reminders, IOptions<PaymentOrderOptions> options, TimeProvider time, ILogger<PaymentOrderSweepGrain> logger)
    : Grain, IPaymentOrderSweepGrain, IRemindable
{
    public const int Shards = 4;
    private const string ReminderName = "payment_order_sweep";
    private const int PageSize = 200;

    /// <summary>Orders woken at once: enough to overlap their round trips, few enough not to crowd out the traffic.</summary>
    private const int WakeUpsInFlight = 16;

    /// <summary>
    /// How long one sweep keeps waking orders of one reason: both well inside a call's timeout. A larger backlog is taken
    /// up by the next ticks, from where this one stopped.
    /// </summary>
    private static readonly TimeSpan ReasonBudget = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Auto-fulfillments first: each is due once, and an order owing work may stay due tick after tick (parked, or waiting
    /// for its buyer), so a long list of those must not keep a paid order from being fulfilled.
    /// </summary>
    private static readonly string[] Reasons = [DurableWakeUp.AutoFulfill, DurableWakeUp.Drive];

    /// <summary>
    /// Per reason, the last order a sweep that ran out of time reached: the next sweep goes on from there rather than from
    /// the oldest again, so every due order is reached, however many stay due. In memory: a new activation starts over.
    /// </summary>
    private readonly Dictionary<string, DueWakeUp> _resumeAfter = new(StringComparer.Ordinal);

    private int Shard => (int)this.GetPrimaryKeyLong();

    /// <summary>Registered only when missing or of another period: registering anew postpones the next tick, and silos start often.</summary>
    public async Task EnsureScheduledAsync()
    {
        var period = options.Value.ReminderPeriod;
        // Read from the table: the reminder's handle does not tell its period.
        if (await reminders.ReadRow(this.GetGrainId(), ReminderName) is not { } reminder || reminder.Period != period)
        {
            await this.RegisterOrUpdateReminder(ReminderName, period, period);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => SweepAsync();

    public async Task<int> SweepAsync()
    {
        var started = Stopwatch.StartNew();
        var dueBy = time.GetUtcNow();
        var woken = 0;
        foreach (var reason in Reasons)
        {
            woken += await SweepReasonAsync(reason, dueBy);
        }

        if (woken > 0)
        {
            logger.LogInformation("Payment order sweep {Shard}: woke {Count} orders in {Elapsed} ms", Shard, woken, started.ElapsedMilliseconds);
        }

        return woken;
    }

    private async Task<int> SweepReasonAsync(string reason, DateTimeOffset dueBy)
    {
        var started = Stopwatch.StartNew();
        var woken = 0;
        DueWakeUp? after = _resumeAfter.Remove(reason, out var resume) ? resume : null;
        while (true)
        {
            var page = await sweep.DuePageAsync(PaymentOrderGrain.StateName, reason, dueBy, Shard, Shards, after, PageSize);
            // A few at a time, each started from this activation (grain calls must be: no thread-pool loop here).
            foreach (var batch in page.Chunk(WakeUpsInFlight))
            {
                await Task.WhenAll(batch.Select(due => WakeAsync(due.GrainKey)));
                woken += batch.Length;
                if (started.Elapsed >= ReasonBudget)
                {
                    _resumeAfter[reason] = batch[^1];
                    return woken;
                }
            }

            if (page.Count < PageSize)
            {
                // The end of the list: the next sweep starts from the oldest again.
                return woken;
            }

            after = page[^1];
        }
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
