using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Core.Checkout;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Grains.Events;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// One charge: the idempotency and state-machine boundary. Every transition is written before its side
/// effect, the PSP is called with Idempotency-Key = payment_order_id, and after SUCCESS the wallet and ledger
/// effects are carried out until both flags are set (an outbox in grain state).
/// </summary>
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
    internal const string PspName = "stripe";
    private const string DriveReminderName = "drive";
    private const string AutoFulfillReminderName = "auto_fulfill";

    private WakeUpTimer? _wakeUp;

    private string PaymentOrderId => this.GetPrimaryKeyString();

    private PaymentOrderState State => order.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        AssertConsistent();
        return Task.CompletedTask;
    }

    public async Task<CreatePaymentOrderResult> CreateAsync(CreatePaymentOrder command)
    {
        if (State.Exists)
        {
            if (State.CheckoutId != command.CheckoutId || State.MerchantId != command.MerchantId)
            {
                return new CreatePaymentOrderResult(CreatePaymentOrderOutcome.BelongsToOtherCheckout);
            }

            var sameTerms = State.SellerAccount == command.SellerAccount
                && State.AmountMinor == command.Amount.Minor
                && State.Currency == command.Amount.Currency.Code;
            return new CreatePaymentOrderResult(sameTerms ? CreatePaymentOrderOutcome.AlreadyExists : CreatePaymentOrderOutcome.ExistsWithDifferentTerms);
        }

        // The reminder goes first: should we die right after the state is written, it still wakes the order.
        await RegisterDriveReminderAsync();
        var now = time.GetUtcNow();
        order.State = new PaymentOrderState
        {
            Exists = true,
            MerchantId = command.MerchantId,
            CheckoutId = command.CheckoutId,
            SellerAccount = command.SellerAccount,
            AmountMinor = command.Amount.Minor,
            Currency = command.Amount.Currency.Code,
            PaymentMethodToken = command.PaymentMethod.Token ?? string.Empty,
            ReturnUrl = command.PaymentMethod.ReturnUrl,
            BuyerId = command.BuyerId,
            Status = PaymentOrderStatus.NotStarted,
            History = [new PaymentOrderHistoryEntry(PaymentOrderStatus.NotStarted, now)],
            CreatedAt = now,
            UpdatedAt = now,
        };
        AssertConsistent();
        await PersistAsync();
        return new CreatePaymentOrderResult(CreatePaymentOrderOutcome.Created);
    }

    public async Task ReleaseAsync(string checkoutId)
    {
        if (State.Exists && State.CheckoutId == checkoutId && State.Status == PaymentOrderStatus.NotStarted)
        {
            await order.ClearStateAsync();
            order.State = new PaymentOrderState();
            await UnregisterDriveReminderAsync();
        }
    }

    public Task<PaymentOrderView?> GetAsync() => Task.FromResult(State.Exists ? ToView() : null);

    public async Task<PaymentOrderView> ExecuteAsync()
    {
        if (!State.Exists)
        {
            throw new InvalidOperationException($"Payment order {PaymentOrderId} does not exist.");
        }

        await DriveAsync();
        return ToView();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
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
        switch (await GrainFactory.GetGrain<ICheckoutGrain>(State.CheckoutId).ConfirmOrderAsync(PaymentOrderId))
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

        if (State.Status == PaymentOrderStatus.NotStarted)
        {
            // Written together with the first attempt, still before the PSP hears of it.
            Transition(PaymentOrderStatus.Executing);
        }

        if (State.Status == PaymentOrderStatus.Executing)
        {
            if (IsRetryDue())
            {
                await ChargeAsync();
            }
            else if (State.NextRetryAt is { } due)
            {
                // Woken (by the reminder, a webhook, or a timer a hair early) while a retry was pending: wait out the rest.
                ArmRetryTimer(due - time.GetUtcNow());
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
        if (IsDone() && !OwesNotices())
        {
            WakeUp.Cancel();
            // The drive reminder hands over to the auto-fulfillment reminder: a paid order nobody fulfills still ends available.
            await ArmAutoFulfillmentAsync();
            await UnregisterDriveReminderAsync();
        }
    }

    private bool IsRetryDue() => State.NextRetryAt is not { } due || due <= time.GetUtcNow();

    /// <summary>Nothing left to do with money: no PSP call, no wallet or ledger move. (What the merchant is owed: <see cref="OwesNotices"/>.)</summary>
    private bool IsDone() =>
        (State.Status == PaymentOrderStatus.Failed && (State.HostedSessionId is null || State.HostedPageClosed) && State.LatePayment is null or { IsSettled: true })
        || (State.Status == PaymentOrderStatus.Success && State.WalletUpdated && State.LedgerUpdated
            && State.Refunds.All(refund => refund.Status != RefundStatus.Pending && !refund.OwesEffects) && !State.OwesFulfillmentEffects);

    private void ScheduleRetry(TimeSpan? retryAfter)
    {
        var retry = options.Value.Retry;
        var delay = RetryDelay.Next(State.Attempts, retry.DelayBase, retry.DelayMax, retryAfter, Random.Shared);
        PaymentsMetrics.PspRetries.Add(1, new KeyValuePair<string, object?>("operation", "charge"));
        State.NextRetryAt = time.GetUtcNow() + delay;
        ArmRetryTimer(delay);
    }

    /// <summary>One timer serves the charge, every refund and the effects: whatever is due first wakes the order.</summary>
    private WakeUpTimer WakeUp => _wakeUp ??= new WakeUpTimer(this, DriveAsync, time);

    private void ArmRetryTimer(TimeSpan delay, bool keepAlive = true) => WakeUp.Arm(delay, keepAlive);

    private void Transition(PaymentOrderStatus next)
    {
        if (!State.Status.CanMoveTo(next))
        {
            throw new InvalidOperationException($"Payment order {PaymentOrderId}: {State.Status} -> {next} is not a valid transition.");
        }

        if (next is PaymentOrderStatus.Success or PaymentOrderStatus.Failed)
        {
            State.OwesCheckoutNotice = true;
            PaymentsMetrics.OrdersFinished.Add(1, new KeyValuePair<string, object?>("outcome", next == PaymentOrderStatus.Success ? "success" : "failed"));
        }

        var now = time.GetUtcNow();
        if (next == PaymentOrderStatus.RequiresAction)
        {
            State.ActionRequiredAt = now;
        }

        State.Status = next;
        State.UpdatedAt = now;
        if (State.History.Count < PaymentOrderState.HistoryLengthMax)
        {
            State.History.Add(new PaymentOrderHistoryEntry(next, now));
        }

        OweEvent(next);
    }

    private void AssertConsistent()
    {
        if (!State.Exists)
        {
            return;
        }

        if (State.AmountMinor <= 0 || !Currency.TryGet(State.Currency, out _))
        {
            throw new InvalidOperationException($"Payment order {PaymentOrderId} has an invalid amount {State.AmountMinor} {State.Currency}.");
        }

        if ((State.WalletUpdated || State.LedgerUpdated) && State.Status != PaymentOrderStatus.Success)
        {
            throw new InvalidOperationException($"Payment order {PaymentOrderId} moved money while {State.Status}.");
        }

        if (State.Refunds.Where(refund => refund.Status != RefundStatus.Failed).Sum(refund => refund.AmountMinor) > State.AmountMinor)
        {
            throw new InvalidOperationException($"Payment order {PaymentOrderId} has refunds beyond its amount.");
        }

        if (State.RefundedMinor < 0 || State.RefundedMinor > State.AmountMinor)
        {
            throw new InvalidOperationException($"Payment order {PaymentOrderId} refunded {State.RefundedMinor} of {State.AmountMinor}.");
        }
    }

    /// <summary>
    /// Writes the state, then the events it owes. The order's changes are not undone one by one on failure: the activation goes away and the
    /// next call starts again from what is stored, which the write-ahead design makes safe. Its timer goes with it.
    /// </summary>
    private async Task PersistAsync()
    {
        RenderOwedEvents();
        await order.WriteOrUndoAsync(this, () =>
        {
            WakeUp.Cancel();
        });
        _noticeUnsaved = false;
        await WriteOwedEventsAsync();
    }

    /// <summary>The durable net: while an order owes work, its reminder wakes it (after a crash, too).</summary>
    private Task RegisterDriveReminderAsync() =>
        this.RegisterOrUpdateReminder(DriveReminderName, options.Value.ReminderPeriod, options.Value.ReminderPeriod);

    private Task UnregisterDriveReminderAsync() => UnregisterReminderAsync(DriveReminderName);

    private async Task UnregisterReminderAsync(string name)
    {
        var reminder = await this.GetReminder(name);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private PaymentOrderView ToView()
    {
        var currency = Currency.Get(State.Currency);
        return new PaymentOrderView(
            PaymentOrderId,
            State.MerchantId,
            State.CheckoutId,
            State.SellerAccount,
            new Money(State.AmountMinor, currency),
            State.Status,
            State.PspReference,
            State.WalletUpdated,
            State.LedgerUpdated,
            State.Attempts,
            State.NextRetryAt,
            State.Failure,
            new Money(State.RefundedMinor, currency),
            State.History.ToArray(),
            State.CreatedAt,
            State.UpdatedAt,
            State.DeadLettered,
            State.Status == PaymentOrderStatus.RequiresAction ? State.ActionUrl : null,
            State.Refunds.Select(ToRefundView).Append(LateRefundView()).OfType<RefundView>().ToArray(),
            State.FulfilledAt,
            State.OwesFulfillmentEffects);
    }

    private RefundView ToRefundView(RefundState refund) => new(
        refund.RefundId, PaymentOrderId, new Money(refund.AmountMinor, Currency.Get(State.Currency)), refund.Status, refund.Reason, refund.CreatedAt, refund.OwesEffects);
}
