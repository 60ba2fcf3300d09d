using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Core.Checkout;
using Payments.Core.Ledger;
using Payments.Core.PaymentOrders;
using Payments.Core.Wallets;
using Payments.Grains.DeadLetters;
using Payments.Grains.Events;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// One charge: the idempotency and state-machine boundary. A shell over the plain classes of <see cref="PaymentOrderRules"/>,
/// which decide; the grain activates, stores, calls the PSP, wallet and ledger, and keeps the timer and reminders. Every
/// transition is written before its side effect, the PSP is called with Idempotency-Key = payment_order_id, and after
/// SUCCESS the wallet and ledger effects are carried out until their flags are set (an outbox in grain state).
/// </summary>
[CollectionAgeLimit(Minutes = GrainCollection.OnePerRequestIdleMinutes)]
internal sealed partial class PaymentOrderGrain(
    [PersistentState("paymentOrder", GrainStorage.Name)] IPersistentState<PaymentOrderState> order,
    IPspClient psp,
    DeadLetterStore deadLetters,
    IOptions<PaymentOrderOptions> options,
    IOptions<FulfillmentOptions> fulfillment,
    EventOutbox events,
    TimeProvider time,
    ILogger<PaymentOrderGrain> logger) : Grain, IPaymentOrderGrain, IRemindable
{
    internal const string PspName = PaymentOrderOutbox.PspName;
    private const string DriveReminderName = "drive";
    private const string AutoFulfillReminderName = "auto_fulfill";

    private WakeUpTimer? _timer;

    /// <summary>
    /// The drive reminder as this activation registered it, so that removing it needs no read of the reminder table first;
    /// null when this activation has not registered it (it is then looked up) or has removed it.
    /// </summary>
    private IGrainReminder? _driveReminder;

    /// <summary>This activation removed the drive reminder (or found none): a later drive need not look again.</summary>
    private bool _driveReminderGone;
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

        // The reminder goes first: should we die right after the state is written, it still wakes the order.
        await RegisterDriveReminderAsync();
        order.State = PaymentOrderCreation.NewOrder(command, time.GetUtcNow());
        AssertConsistent();
        await PersistAsync();
        return new CreatePaymentOrderResult(CreatePaymentOrderOutcome.Created);
    }

    public async Task ReleaseAsync(string checkoutId)
    {
        if (PaymentOrderCreation.MayRelease(State, checkoutId))
        {
            await order.ClearStateAsync();
            order.State = new PaymentOrderState();
            await UnregisterDriveReminderAsync();
        }
    }

    public Task<PaymentOrderView?> GetAsync() => Task.FromResult(State.Exists ? View() : null);

    public async Task<PaymentOrderView> ExecuteAsync()
    {
        if (!State.Exists)
        {
            throw new InvalidOperationException($"Payment order {PaymentOrderId} does not exist.");
        }

        await DriveAsync();
        return View();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == DriveReminderName)
        {
            // It ticked, so it is there, whatever this activation removed or thought it removed.
            _driveReminderGone = false;
        }

        if (!State.Exists)
        {
            await UnregisterReminderAsync(reminderName);
            return;
        }

        if (reminderName == AutoFulfillReminderName)
        {
            await AutoFulfillAsync();
            return;
        }

        if (State.Status == PaymentOrderStatus.NotStarted && !await CheckoutLetsGoAsync())
        {
            return;
        }

        await DriveAsync();
    }

    /// <summary>
    /// An order its checkout never started (only the checkout starts its orders, once all exist): it is charged only if the
    /// checkout says every order was created; if the checkout's creation broke off, the order goes, uncharged.
    /// </summary>
    private async Task<bool> CheckoutLetsGoAsync()
    {
        switch (await Checkout.ConfirmOrderAsync(PaymentOrderId))
        {
            case OrderGoAhead.Go:
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
                // Woken (by the reminder, a webhook, or a timer a hair early) while a retry was pending: wait out the rest.
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
            // The drive reminder hands over to the auto-fulfillment reminder: a paid order nobody fulfills still ends available.
            await ArmAutoFulfillmentAsync();
            await UnregisterDriveReminderAsync();
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
        await order.WriteOrUndoAsync(this, () =>
        {
            Timer.Cancel();
        });
        _noticeUnsaved = false;
        await WriteOwedEventsAsync();
    }

    /// <summary>The durable net: while an order owes work, its reminder wakes it (after a crash, too).</summary>
    private async Task RegisterDriveReminderAsync()
    {
        _driveReminderGone = false;
        _driveReminder = null;
        _driveReminder = await this.RegisterOrUpdateReminder(DriveReminderName, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
    }

    /// <summary>
    /// Removes the drive reminder, the durable sign that the order owes work (the stuck check reads those rows): by the
    /// handle this activation registered it with, or else after looking it up.
    /// </summary>
    private async Task UnregisterDriveReminderAsync()
    {
        if (_driveReminderGone)
        {
            return;
        }

        if (_driveReminder is { } registered)
        {
            _driveReminder = null;
            try
            {
                await this.UnregisterReminder(registered);
                _driveReminderGone = true;
                return;
            }
            catch (Exception exception)
            {
                // The row changed since (its ETag no longer matches): look it up and remove what is there.
                logger.LogDebug(exception, "Payment order {PaymentOrderId}: its drive reminder was not removed by its handle; looking it up", PaymentOrderId);
            }
        }

        await UnregisterReminderAsync(DriveReminderName);
        _driveReminderGone = true;
    }

    private async Task UnregisterReminderAsync(string name)
    {
        var reminder = await this.GetReminder(name);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }
}
