using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Core.Checkout;
using Payments.Core.Ledger;
using Payments.Core.PaymentOrders;
using Payments.Core.Wallets;
using Payments.Grains.DeadLetters;
using Payments.Grains.Events;
using Payments.Grains.Storage;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// One charge: the idempotency and state-machine boundary. A shell over the plain classes of <see cref="PaymentOrderRules"/>,
/// which decide; the grain activates, stores, calls the PSP, wallet and ledger, and keeps the timer. Every
/// transition is written before its side effect, the PSP is called with Idempotency-Key = payment_order_id, and after
/// SUCCESS the wallet and ledger effects are carried out until their flags are set (an outbox in grain state). Every write
/// stores the order's wake-up with it (<see cref="PaymentOrderWakeUps"/>): the sweep wakes an order that owes work after a
/// crash, and a paid one nobody fulfills.
/// </summary>
[CollectionAgeLimit(Minutes = GrainCollection.OnePerRequestIdleMinutes)]
internal sealed partial class PaymentOrderGrain(
    [PersistentState(PaymentOrderGrain.StateName, GrainStorage.Name)] IPersistentState<PaymentOrderState> order,
    IPspClient psp,
    DeadLetterStore deadLetters,
    IOptions<PaymentOrderOptions> options,
    IOptions<FulfillmentOptions> fulfillment,
    EventOutbox events,
    TimeProvider time,
    ILogger<PaymentOrderGrain> logger) : Grain, IPaymentOrderGrain, IRemindable
{
    internal const string PspName = PaymentOrderOutbox.PspName;

    /// <summary>The state's name, the grain_type of its rows.</summary>
    internal const string StateName = "paymentOrder";

    /// <summary>The reminders of an earlier build, before the wake-up moved into the state's row (sql/0011).</summary>
    private static readonly string[] EarlierReminderNames = [DurableWakeUp.Drive, DurableWakeUp.AutoFulfill];

    private WakeUpTimer? _timer;

    /// <summary>
    /// This activation made the create write that counted the first attempt ahead. Another one (after a crash or a failed
    /// write) cannot know whether that attempt went out, so it counts and writes the next one as any retry: a crash loop
    /// stays inside the retry budget.
    /// </summary>
    private bool _countedAheadHere;
    private PaymentOrderRules? _rules;
    private GrainReferenceCache<ISellerWalletGrain> _wallet;
    private GrainReferenceCache<ICheckoutGrain> _checkout;
    private ILedgerWriterGrain? _ledger;

    private string PaymentOrderId => this.GetPrimaryKeyString();

    private ISellerWalletGrain Wallet => _wallet.Get(GrainFactory, State.SellerAccount);

    private ILedgerWriterGrain Ledger => _ledger ??= GrainFactory.GetGrain<ILedgerWriterGrain>(LedgerAccounts.WriterShardFor(PaymentOrderId));

    private ICheckoutGrain Checkout => _checkout.Get(GrainFactory, State.CheckoutId);

    private PaymentOrderState State => order.State;

    private PaymentOrderRules Rules => _rules ??= new PaymentOrderRules(PaymentOrderId, options.Value, fulfillment.Value, time, Random.Shared);

    /// <summary>One timer serves the charge, every refund, polls and the effects: whatever is due first wakes the order.</summary>
    private WakeUpTimer Timer => _timer ??= new WakeUpTimer(this, DriveAsync, time);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        AssertConsistent();
        return Task.CompletedTask;
    }

    public async Task<CreatePaymentOrderResult> CreateAsync(CreatePaymentOrder command)
    {
        if (PaymentOrderCreation.ExistingOutcome(State, command) is { } existing)
        {
            return new CreatePaymentOrderResult(existing);
        }

        order.State = PaymentOrderCreation.NewOrder(command, time.GetUtcNow());
        if (options.Value.StartInCreateWrite)
        {
            Rules.Charge.StartAhead(State);
        }

        AssertConsistent();
        await PersistAsync();
        _countedAheadHere = State.AttemptCountedAhead;
        return new CreatePaymentOrderResult(CreatePaymentOrderOutcome.Created);
    }

    public async Task ReleaseAsync(string checkoutId)
    {
        if (PaymentOrderCreation.MayRelease(State, checkoutId))
        {
            // Its wake-up goes with the cleared row.
            await order.ClearStateAsync();
            order.State = new PaymentOrderState();
        }
    }

    public Task<PaymentOrderView?> GetAsync() => Task.FromResult(State.Exists ? View() : null);

    public async Task<PaymentOrderView> ExecuteAsync()
    {
        if (!State.Exists)
        {
            throw new InvalidOperationException($"Payment order {PaymentOrderId} does not exist.");
        }

        // Only the checkout executes its orders, once it stored that all of them exist: the order is let go.
        State.AwaitsCheckout = false;
        await DriveAsync();
        return View();
    }

    /// <summary>
    /// The sweep's call (<see cref="PaymentOrderSweepGrain"/>), when the wake-up stored with the order is due: after a crash, a
    /// lost webhook, a wallet that was down, or once a paid order is due to be fulfilled automatically.
    /// </summary>
    public async Task WakeAsync()
    {
        if (!State.Exists)
        {
            return;
        }

        if (State.NotLetGoByCheckout() && !await CheckoutLetsGoAsync())
        {
            return;
        }

        if (Rules.Fulfillment.IsDue(State))
        {
            logger.LogInformation("Payment order {PaymentOrderId}: nobody fulfilled it within {AutoAfter}; fulfilled automatically", PaymentOrderId, fulfillment.Value.AutoAfter);
            await MarkFulfilledAsync();
        }

        await DriveAsync();
    }

    /// <summary>
    /// A reminder of an earlier build (sql/0011 moves them into the rows; a silo of that build may still register one): the
    /// order does what the sweep would, which stores its wake-up in its row, and then drops the reminder.
    /// </summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (EarlierReminderNames.Contains(reminderName))
        {
            await WakeAsync();
            // Some wakes end before the drive does this (a checkout that says wait, a parked order): the row, perhaps written
            // by that earlier build without a wake-up, gets one before the reminder goes.
            await StoreWakeUpIfStaleAsync();
        }

        if (await this.GetReminder(reminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    /// <summary>
    /// An order its checkout never let go (only the checkout lets its orders go, once all exist): it is charged only if the
    /// checkout says every order was created; if the checkout's creation broke off, the order goes, uncharged.
    /// </summary>
    private async Task<bool> CheckoutLetsGoAsync()
    {
        switch (await Checkout.ConfirmOrderAsync(PaymentOrderId))
        {
            case OrderGoAhead.Go:
                State.AwaitsCheckout = false;
                return true;
            case OrderGoAhead.Release:
                logger.LogInformation("Payment order {PaymentOrderId}: its checkout {CheckoutId} was never completed; released uncharged", PaymentOrderId, State.CheckoutId);
                await ReleaseAsync(State.CheckoutId);
                return false;
            default:
                return false;
        }
    }

    /// <summary>Takes the order as far as it can go now; leaves a timer behind when it has to wait.</summary>
    private async Task DriveAsync()
    {
        if (State.AwaitsCheckout)
        {
            // Its checkout has not let it go: nothing may reach the PSP (the sweep asks the checkout, WakeAsync).
            return;
        }

        if (State.DeadLettered)
        {
            // Parked until an operator replays it. The row is written again in case we died right after parking. What it
            // owes the merchant (events, its checkout's news) is not parked with it.
            await RecordDeadLetterAsync();
            await DeliverNoticesAsync();
            return;
        }

        Rules.Charge.StartIfNew(State);
        if (State.Status == PaymentOrderStatus.Executing)
        {
            if (WakeUp.UntilDue(State.NextRetryAt, time.GetUtcNow(), pspAnswered: false) is { } wait)
            {
                // Woken (by the sweep, a webhook, or a timer a hair early) while a retry was pending: wait out the rest.
                Arm(wait);
            }
            else
            {
                await ChargeAsync();
            }
        }

        if (State.Status == PaymentOrderStatus.RequiresAction)
        {
            await CheckPspIfDueAsync();
        }

        if (State.Status == PaymentOrderStatus.Failed && State.HostedSessionId is not null && !State.HostedPageClosed)
        {
            await CloseHostedPageAsync();
        }

        if (State.Status == PaymentOrderStatus.Failed && State.LatePayment is { IsSettled: false })
        {
            await SettleLatePaymentAsync();
        }

        if (State.Status == PaymentOrderStatus.Success)
        {
            await ExecutePendingRefundsAsync();
            if (State.DeadLettered)
            {
                await DeliverNoticesAsync();
                return;
            }

            // The checkout hears first, so that the effects' write stores that it was told: no write of its own.
            await TellCheckoutIfOwedAsync();
            await ApplyEffectsAsync();
        }

        await DeliverNoticesAsync();
        if (!State.OwesWork() && !State.OwesNotices())
        {
            Timer.Cancel();
        }

        await StoreWakeUpIfStaleAsync();
    }

    /// <summary>
    /// Usually the last write already stored what is owed now; if notices went out after it, this one drops the drive wake-up
    /// (a paid order's becomes its auto-fulfillment), and a row without the wake-up its state wants gets it.
    /// </summary>
    private async Task StoreWakeUpIfStaleAsync()
    {
        if (State.Exists && Rules.WakeUps.IsStale(State))
        {
            await PersistAsync();
        }
    }

    private void Arm(WakeUp wakeUp) => Timer.Arm(wakeUp.Delay, wakeUp.KeepAlive);

    private void AssertConsistent() => PaymentOrderInvariants.Assert(PaymentOrderId, State);

    private PaymentOrderView View() => PaymentOrderViews.Order(PaymentOrderId, State);

    /// <summary>
    /// Writes the state, then the events it owes. The order's changes are not undone one by one on failure: the activation goes away and the
    /// next call starts again from what is stored, which the write-ahead design makes safe. Its timer goes with it.
    /// </summary>
    private async Task PersistAsync()
    {
        PaymentOrderEvents.Render(PaymentOrderId, State);
        var stored = PaymentOrderWakeUps.Stored(State);
        Rules.WakeUps.BeforeWrite(State);
        await order.WriteOrUndoAsync(this, () =>
        {
            Timer.Cancel();
            PaymentOrderWakeUps.Restore(State, stored);
        });
        _noticeUnsaved = false;
        await WriteOwedEventsAsync();
    }
}
