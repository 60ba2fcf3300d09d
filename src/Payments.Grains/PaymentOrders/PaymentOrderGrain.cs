using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Core.Wallets;
using Payments.Grains.DeadLetters;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// One charge: the idempotency and state-machine boundary. Every transition is written before its side
/// effect, the PSP is called with Idempotency-Key = payment_order_id, and after SUCCESS the wallet and ledger
/// effects are carried out until both flags are set (an outbox in grain state).
/// </summary>
internal sealed class PaymentOrderGrain(
    [PersistentState("paymentOrder", GrainStorage.Name)] IPersistentState<PaymentOrderState> order,
    IPspClient psp,
    DeadLetterStore deadLetters,
    IOptions<PaymentOrderOptions> options,
    TimeProvider time,
    ILogger<PaymentOrderGrain> logger) : Grain, IPaymentOrderGrain, IRemindable
{
    internal const string PspName = "stripe";
    private const string DriveReminderName = "drive";

    private IGrainTimer? _retryTimer;

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
        await this.RegisterOrUpdateReminder(DriveReminderName, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
        var now = time.GetUtcNow();
        order.State = new PaymentOrderState
        {
            Exists = true,
            MerchantId = command.MerchantId,
            CheckoutId = command.CheckoutId,
            SellerAccount = command.SellerAccount,
            AmountMinor = command.Amount.Minor,
            Currency = command.Amount.Currency.Code,
            PaymentMethodToken = command.PaymentMethodToken,
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
            await UnregisterDriveReminderAsync();
            return;
        }

        await DriveAsync();
    }

    /// <summary>Takes the order as far as it can go now; leaves a timer behind when it has to wait.</summary>
    private async Task DriveAsync()
    {
        if (State.DeadLettered)
        {
            // Parked until an operator replays it. The row is written again in case we died right after parking.
            await RecordDeadLetterAsync();
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
            else if (_retryTimer is null && State.NextRetryAt is { } due)
            {
                // Re-activated (by the reminder) while a retry was pending: wait out the rest of its delay.
                ArmRetryTimer(due - time.GetUtcNow());
            }
        }

        if (State.Status == PaymentOrderStatus.Success)
        {
            await ApplyEffectsAsync();
        }

        if (IsDone())
        {
            _retryTimer?.Dispose();
            _retryTimer = null;
            await UnregisterDriveReminderAsync();
        }
    }

    private bool IsRetryDue() => State.NextRetryAt is not { } due || due <= time.GetUtcNow();

    private bool IsDone() =>
        State.Status == PaymentOrderStatus.Failed
        || (State.Status == PaymentOrderStatus.Success && State.WalletUpdated && State.LedgerUpdated);

    private async Task ChargeAsync()
    {
        // Write-ahead: the attempt is on record before the PSP hears of it.
        State.Attempts++;
        State.NextRetryAt = null;
        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();

        var request = new PspChargeRequest(
            PaymentOrderId,
            State.AmountMinor,
            State.Currency,
            State.PaymentMethodToken,
            new Dictionary<string, string>
            {
                ["payment_order_id"] = PaymentOrderId,
                ["checkout_id"] = State.CheckoutId,
                ["seller_account"] = State.SellerAccount,
            });
        var outcome = await psp.ChargeAsync(request, CancellationToken.None);
        switch (outcome.Kind)
        {
            case PspOutcomeKind.Succeeded:
                State.PspReference = outcome.PspReference;
                State.LastError = null;
                Transition(PaymentOrderStatus.Success);
                break;
            case PspOutcomeKind.Declined:
                State.PspReference = outcome.PspReference;
                State.Failure = new PaymentFailure(outcome.FailureCode ?? "payment_failed", outcome.FailureMessage ?? "The payment was declined.", Retryable: false);
                Transition(PaymentOrderStatus.Failed);
                break;
            case PspOutcomeKind.RequiresAction:
                State.PspReference = outcome.PspReference;
                Transition(PaymentOrderStatus.RequiresAction);
                break;
            case PspOutcomeKind.Unknown:
                // Not a failure: the PSP may have charged. Ask again later with the same idempotency key.
                State.LastError = outcome.FailureMessage ?? outcome.FailureCode ?? "unknown PSP outcome";
                if (State.Attempts - State.AttemptsAtBudgetStart >= options.Value.Retry.AttemptsMax)
                {
                    Park();
                    logger.LogError("Payment order {PaymentOrderId}: PSP outcome still unknown after {Attempts} attempts ({Error}); parked as a dead letter",
                        PaymentOrderId, State.Attempts, State.LastError);
                }
                else
                {
                    ScheduleRetry(outcome.RetryAfter);
                    logger.LogWarning("Payment order {PaymentOrderId}: PSP outcome unknown after attempt {Attempt} ({Error}); retrying at {NextRetryAt}",
                        PaymentOrderId, State.Attempts, State.LastError, State.NextRetryAt);
                }

                break;
            default:
                throw new UnreachableException($"Unknown PSP outcome {outcome.Kind}.");
        }

        AssertConsistent();
        await PersistAsync();
        if (State.DeadLettered)
        {
            await RecordDeadLetterAsync();
        }
    }

    public async Task<ReplayPaymentOrderResult> ReplayAsync()
    {
        if (!State.Exists || !State.DeadLettered)
        {
            return new ReplayPaymentOrderResult(ReplayPaymentOrderOutcome.NotParked, State.Exists ? ToView() : null);
        }

        // A fresh budget: the attempts so far stay on record, the count toward the limit starts again.
        State.DeadLettered = false;
        State.DeadLetteredAt = null;
        State.AttemptsAtBudgetStart = State.Attempts;
        State.EffectFailures = 0;
        State.NextRetryAt = null;
        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
        await this.RegisterOrUpdateReminder(DriveReminderName, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
        await deadLetters.MarkReplayedAsync(PaymentOrderId, State.UpdatedAt);
        await DriveAsync();
        return new ReplayPaymentOrderResult(ReplayPaymentOrderOutcome.Replayed, ToView());
    }

    private void Park()
    {
        State.DeadLettered = true;
        State.DeadLetteredAt = time.GetUtcNow();
        State.NextRetryAt = null;
        _retryTimer?.Dispose();
        _retryTimer = null;
    }

    private Task RecordDeadLetterAsync() => deadLetters.ParkAsync(
        PaymentOrderId,
        State.MerchantId,
        State.Status == PaymentOrderStatus.Success ? DeadLetterStore.StageEffects : DeadLetterStore.StagePspCharge,
        State.Attempts,
        State.LastError ?? "unknown",
        State.DeadLetteredAt ?? State.UpdatedAt);

    private void ScheduleRetry(TimeSpan? retryAfter)
    {
        var retry = options.Value.Retry;
        var delay = RetryDelay.Next(State.Attempts, retry.DelayBase, retry.DelayMax, retryAfter, Random.Shared);
        State.NextRetryAt = time.GetUtcNow() + delay;
        ArmRetryTimer(delay);
    }

    private void ArmRetryTimer(TimeSpan delay)
    {
        _retryTimer?.Dispose();
        _retryTimer = this.RegisterGrainTimer(
            static (grain, _) => grain.OnRetryTimerAsync(),
            this,
            new GrainTimerCreationOptions { DueTime = delay, Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
    }

    private Task OnRetryTimerAsync()
    {
        // A timer may fire a little before the retry it was armed for is due; with no timer left, the drive
        // arms a fresh one for the remainder instead of leaving the order to the (much slower) reminder.
        _retryTimer?.Dispose();
        _retryTimer = null;
        return DriveAsync();
    }

    /// <summary>
    /// The outbox: wallet and ledger, each applied once however often this runs, in either order of failure.
    /// Both carry the operation id, so they run side by side and their flags are written together.
    /// </summary>
    private async Task ApplyEffectsAsync()
    {
        if (State.WalletUpdated && State.LedgerUpdated)
        {
            return;
        }

        var amount = new Money(State.AmountMinor, Currency.Get(State.Currency));
        var operationId = $"payin:{PaymentOrderId}";
        var wallet = State.WalletUpdated ? null : GrainFactory.GetGrain<ISellerWalletGrain>(State.SellerAccount)
            .CreditPendingAsync(new CreditPendingFunds(operationId, State.MerchantId, amount));
        var ledger = State.LedgerUpdated ? null : GrainFactory.GetGrain<ILedgerWriterGrain>(LedgerAccounts.WriterShardFor(PaymentOrderId))
            .AppendAsync(new LedgerTransaction(operationId, "payin", PaymentOrderId, State.PspReference,
            [
                new LedgerEntry(LedgerAccounts.PspReceivable(PspName), EntryDirection.Debit, amount),
                new LedgerEntry(LedgerAccounts.SellerPending(State.SellerAccount), EntryDirection.Credit, amount),
            ]));
        try
        {
            await Task.WhenAll(new Task?[] { wallet, ledger }.OfType<Task>());
        }
        catch (Exception exception)
        {
            // What failed stays owed: the timer (or, after a crash, the reminder) applies it again, with backoff,
            // until the budget is spent and the order is parked for an operator.
            State.EffectFailures++;
            State.LastError = $"{exception.GetType().Name}: {exception.Message}";
            if (State.EffectFailures >= options.Value.Retry.AttemptsMax)
            {
                Park();
                logger.LogError(exception, "Payment order {PaymentOrderId}: wallet/ledger effects failed {Failures} times; parked as a dead letter", PaymentOrderId, State.EffectFailures);
            }
            else
            {
                var retry = options.Value.Retry;
                ArmRetryTimer(RetryDelay.Next(State.EffectFailures, retry.DelayBase, retry.DelayMax, retryAfter: null, Random.Shared));
                logger.LogWarning(exception, "Payment order {PaymentOrderId}: wallet/ledger effect failed; will retry", PaymentOrderId);
            }
        }

        State.WalletUpdated |= wallet is { IsCompletedSuccessfully: true };
        State.LedgerUpdated |= ledger is { IsCompletedSuccessfully: true };
        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
        if (State.DeadLettered)
        {
            await RecordDeadLetterAsync();
        }
    }

    private void Transition(PaymentOrderStatus next)
    {
        if (!State.Status.CanMoveTo(next))
        {
            throw new InvalidOperationException($"Payment order {PaymentOrderId}: {State.Status} -> {next} is not a valid transition.");
        }

        var now = time.GetUtcNow();
        State.Status = next;
        State.UpdatedAt = now;
        if (State.History.Count < PaymentOrderState.HistoryLengthMax)
        {
            State.History.Add(new PaymentOrderHistoryEntry(next, now));
        }
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

        if (State.RefundedMinor < 0 || State.RefundedMinor > State.AmountMinor)
        {
            throw new InvalidOperationException($"Payment order {PaymentOrderId} refunded {State.RefundedMinor} of {State.AmountMinor}.");
        }
    }

    /// <summary>
    /// Writes the state. If the write fails, memory may be ahead of storage, or (on an ETag conflict) another
    /// activation owns the order: this activation goes away and the next call starts again from what is stored.
    /// </summary>
    private async Task PersistAsync()
    {
        try
        {
            await order.WriteStateAsync();
        }
        catch
        {
            _retryTimer?.Dispose();
            _retryTimer = null;
            DeactivateOnIdle();
            throw;
        }
    }

    private async Task UnregisterDriveReminderAsync()
    {
        var reminder = await this.GetReminder(DriveReminderName);
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
            State.DeadLettered);
    }
}
