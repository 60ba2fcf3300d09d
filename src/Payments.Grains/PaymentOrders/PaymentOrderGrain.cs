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
internal sealed partial class PaymentOrderGrain(
    [PersistentState("paymentOrder", GrainStorage.Name)] IPersistentState<PaymentOrderState> order,
    IPspClient psp,
    DeadLetterStore deadLetters,
    IOptions<PaymentOrderOptions> options,
    IOptions<FulfillmentOptions> fulfillment,
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

        if (State.Status == PaymentOrderStatus.Success)
        {
            await ExecutePendingRefundsAsync();
            if (State.DeadLettered)
            {
                return;
            }

            await ApplyEffectsAsync();
        }

        if (IsDone())
        {
            WakeUp.Cancel();
            // The drive reminder hands over to the auto-fulfillment reminder: a paid order nobody fulfills still ends available.
            await ArmAutoFulfillmentAsync();
            await UnregisterDriveReminderAsync();
        }
    }

    private bool IsRetryDue() => State.NextRetryAt is not { } due || due <= time.GetUtcNow();

    private bool IsDone() =>
        (State.Status == PaymentOrderStatus.Failed && (State.HostedSessionId is null || State.HostedPageClosed))
        || (State.Status == PaymentOrderStatus.Success && State.WalletUpdated && State.LedgerUpdated
            && State.Refunds.All(refund => refund.Status != RefundStatus.Pending && !refund.OwesEffects) && !State.OwesFulfillmentEffects);

    private async Task ChargeAsync()
    {
        // Write-ahead: the attempt is on record before the PSP hears of it.
        var now = time.GetUtcNow();
        var keyMayBeForgotten = State.FirstAttemptAt is { } first && now - first > options.Value.PspIdempotencyWindow;
        State.Attempts++;
        State.FirstAttemptAt ??= now;
        State.NextRetryAt = null;
        State.UpdatedAt = now;
        await PersistAsync();

        var metadata = new Dictionary<string, string>
        {
            ["payment_order_id"] = PaymentOrderId,
            ["checkout_id"] = State.CheckoutId,
            ["seller_account"] = State.SellerAccount,
        };
        // Past the window the PSP may have forgotten our idempotency key, and creating again could charge twice:
        // look for an earlier charge first, and create only when there is none.
        var earlier = keyMayBeForgotten && State.ReturnUrl is null ? await psp.FindChargeAsync(PaymentOrderId, CancellationToken.None) : null;
        var outcome = earlier
            ?? (State.ReturnUrl is { } returnUrl
                ? await psp.CreateHostedPageAsync(new PspHostedPageRequest(PaymentOrderId, State.AmountMinor, State.Currency, returnUrl, metadata), CancellationToken.None)
                : await psp.ChargeAsync(new PspChargeRequest(PaymentOrderId, State.AmountMinor, State.Currency, State.PaymentMethodToken, metadata), CancellationToken.None));
        switch (outcome.Kind)
        {
            case PspOutcomeKind.Succeeded:
            case PspOutcomeKind.Declined:
                Finish(outcome);
                break;
            case PspOutcomeKind.RequiresAction:
                // A hosted page is known by its session until a payment intent pays it.
                if (State.ReturnUrl is null)
                {
                    State.PspReference = outcome.PspReference;
                }
                else
                {
                    State.HostedSessionId = outcome.PspReference;
                }

                State.ActionUrl = outcome.ActionUrl;
                State.PspCheckedAt = time.GetUtcNow();
                Transition(PaymentOrderStatus.RequiresAction);
                break;
            case PspOutcomeKind.Unknown:
                // Not a failure: the PSP may have charged. Ask again later with the same idempotency key.
                State.LastError = outcome.FailureMessage ?? outcome.FailureCode ?? "unknown PSP outcome";
                if (State.Attempts - State.AttemptsAtBudgetStart >= options.Value.Retry.AttemptsMax)
                {
                    Park(DeadLetterStore.StagePspCharge);
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

    public async Task<PspNoticeOutcome> ApplyPspNoticeAsync(PspNotice notice)
    {
        if (!State.Exists)
        {
            return PspNoticeOutcome.UnknownOrder;
        }

        var parkedForRefund = State.DeadLettered && ParkedStage() == DeadLetterStore.StagePspRefund;
        var refundBounces = notice.Kind == PspNoticeKind.RefundFailed
            && State.Refunds.Any(refund => refund.RefundId == notice.RefundId && refund.Status == RefundStatus.Succeeded);
        if (refundBounces && IsDone())
        {
            // A finished order has no reminder, and this notice makes it owe effects again: the reminder first, before
            // anything changes, so that a crash after the change is stored still books the reversal.
            await RegisterDriveReminderAsync();
        }

        var applied = notice.Kind switch
        {
            PspNoticeKind.PaymentSucceeded => Finish(PspChargeOutcome.Succeeded(notice.PaymentIntentId ?? State.PspReference ?? string.Empty)),
            PspNoticeKind.PaymentFailed => Finish(PspChargeOutcome.Declined(notice.FailureCode ?? "payment_failed", notice.FailureMessage, notice.PaymentIntentId)),
            PspNoticeKind.PaymentRequiresAction when State.Status == PaymentOrderStatus.Executing => MoveToRequiresAction(notice.PaymentIntentId),
            PspNoticeKind.RefundSucceeded or PspNoticeKind.RefundFailed => FinishRefund(notice.RefundId, notice.Kind == PspNoticeKind.RefundSucceeded, notice.FailureCode),
            _ => false,
        };
        if (!applied)
        {
            // Late, duplicated or out of order: an event never moves the order backwards.
            return PspNoticeOutcome.Ignored;
        }

        // Parked because we could not learn the outcome, and now the PSP tells it: nothing left for an operator.
        var resolvesDeadLetter = State.DeadLettered
            && ((State.Status.IsFinal() && notice.Kind is PspNoticeKind.PaymentSucceeded or PspNoticeKind.PaymentFailed)
                || (parkedForRefund && !State.Refunds.Any(IsOutOfBudget)));
        if (resolvesDeadLetter)
        {
            Unpark();
        }

        State.UpdatedAt = time.GetUtcNow();
        AssertConsistent();
        await PersistAsync();
        if (resolvesDeadLetter)
        {
            await RegisterDriveReminderAsync();
            await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, State.UpdatedAt);
        }

        await DriveAsync();
        return PspNoticeOutcome.Applied;
    }

    /// <summary>Ends a payment with the PSP's final answer (its response, a webhook, or our own check). False when the order is past that.</summary>
    private bool Finish(PspChargeOutcome outcome)
    {
        if (State.Status is not (PaymentOrderStatus.Executing or PaymentOrderStatus.RequiresAction))
        {
            if (State.Status == PaymentOrderStatus.Failed && outcome.Kind == PspOutcomeKind.Succeeded)
            {
                // The PSP took money for an order we consider failed: never silently. Reconciliation must see it.
                logger.LogError("Payment order {PaymentOrderId} is FAILED but the PSP reports a successful payment {PspReference}; needs investigation",
                    PaymentOrderId, outcome.PspReference);
            }

            return false;
        }

        State.ActionUrl = null;
        State.NextRetryAt = null;
        if (outcome.Kind == PspOutcomeKind.Succeeded)
        {
            State.PspReference = outcome.PspReference;
            State.Failure = null;
            State.LastError = null;
            Transition(PaymentOrderStatus.Success);
        }
        else
        {
            State.PspReference = outcome.PspReference ?? State.PspReference;
            State.Failure = new PaymentFailure(outcome.FailureCode ?? "payment_failed", outcome.FailureMessage ?? "The payment failed.", Retryable: false);
            Transition(PaymentOrderStatus.Failed);
        }

        return true;
    }

    private bool MoveToRequiresAction(string? paymentIntentId)
    {
        State.PspReference ??= paymentIntentId;
        State.PspCheckedAt = time.GetUtcNow();
        Transition(PaymentOrderStatus.RequiresAction);
        return true;
    }

    /// <summary>Asks the PSP about a payment it finishes later, once it has been quiet for <see cref="PaymentOrderOptions.PspPollAfter"/>.</summary>
    private async Task CheckPspIfDueAsync()
    {
        var due = (State.PspCheckedAt ?? State.UpdatedAt) + options.Value.PspPollAfter;
        var now = time.GetUtcNow();
        if (due > now)
        {
            // Not kept alive for it: if the order is deactivated meanwhile, its reminder brings it back.
            ArmRetryTimer(due - now, keepAlive: false);
            return;
        }

        var outcome = State.HostedSessionId is { } sessionId
            ? await psp.GetHostedPageAsync(PaymentOrderId, sessionId, CancellationToken.None)
            : await psp.GetChargeAsync(PaymentOrderId, State.PspReference ?? string.Empty, CancellationToken.None);
        State.PspCheckedAt = time.GetUtcNow();
        if (outcome.Kind is PspOutcomeKind.Succeeded or PspOutcomeKind.Declined)
        {
            logger.LogInformation("Payment order {PaymentOrderId}: no webhook came, the PSP says {Outcome}", PaymentOrderId, outcome.Kind);
            Finish(outcome);
        }
        else
        {
            State.ActionUrl = outcome.ActionUrl ?? State.ActionUrl;
            ArmRetryTimer(options.Value.PspPollAfter, keepAlive: false);
        }

        State.UpdatedAt = State.PspCheckedAt.Value;
        AssertConsistent();
        await PersistAsync();
    }

    /// <summary>
    /// The payment on a hosted page failed and the order is FAILED: the page must not take a second card later,
    /// so it is closed at the PSP. If the buyer paid on it in the meantime, that is money for a failed order.
    /// </summary>
    private async Task CloseHostedPageAsync()
    {
        var outcome = await psp.CloseHostedPageAsync(PaymentOrderId, State.HostedSessionId!, CancellationToken.None);
        switch (outcome.Kind)
        {
            case PspOutcomeKind.Unknown:
                var retry = options.Value.Retry;
                ArmRetryTimer(retry.DelayBase);
                return;
            case PspOutcomeKind.Succeeded:
                logger.LogError("Payment order {PaymentOrderId} is FAILED but its hosted page was paid ({PspReference}); needs a refund or investigation",
                    PaymentOrderId, outcome.PspReference);
                break;
            case PspOutcomeKind.RequiresAction:
                ArmRetryTimer(options.Value.Retry.DelayBase);
                return;
        }

        State.HostedPageClosed = true;
        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
    }

    public async Task<CreateRefundResult> RefundAsync(CreateRefund command)
    {
        var reserved = State.Refunds.Where(refund => refund.Status != RefundStatus.Failed).Sum(refund => refund.AmountMinor);
        var remaining = State.AmountMinor - reserved;
        if (State.Refunds.FirstOrDefault(refund => refund.RefundId == command.RefundId) is { } existing)
        {
            return new CreateRefundResult(CreateRefundOutcome.AlreadyExists, ToRefundView(existing), remaining);
        }

        // A parked order waits for an operator: a new refund would move money at the PSP that nothing then books.
        if (!State.Exists || State.Status != PaymentOrderStatus.Success || State.DeadLettered || State.Refunds.Count >= options.Value.RefundsMax)
        {
            return new CreateRefundResult(CreateRefundOutcome.NotRefundable, null, remaining);
        }

        var amount = command.AmountMinor ?? remaining;
        if (amount <= 0 || amount > remaining)
        {
            return new CreateRefundResult(CreateRefundOutcome.ExceedsPayment, null, remaining);
        }

        // Reserved before the PSP hears of it: a concurrent refund sees this amount as taken.
        var refund = new RefundState
        {
            RefundId = command.RefundId,
            AmountMinor = amount,
            Status = RefundStatus.Pending,
            Reason = command.Reason,
            CreatedAt = time.GetUtcNow(),
        };
        // The reminder first: should we die right after the reservation is stored, it still finishes the refund.
        await RegisterDriveReminderAsync();
        State.Refunds.Add(refund);
        State.UpdatedAt = refund.CreatedAt;
        AssertConsistent();
        await PersistAsync();
        await ExecuteRefundAsync(refund);
        await ApplyEffectsAsync();
        return new CreateRefundResult(CreateRefundOutcome.Created, ToRefundView(refund), remaining - amount);
    }

    private async Task ExecutePendingRefundsAsync()
    {
        foreach (var refund in State.Refunds.Where(refund => refund.Status == RefundStatus.Pending).ToArray())
        {
            // Only when due: the order also wakes for webhooks, other refunds and its reminder, and each of those
            // must not spend an attempt of this refund's budget.
            if (refund.NextRetryAt is { } due && due > time.GetUtcNow())
            {
                ArmRetryTimer(due - time.GetUtcNow(), keepAlive: !refund.PspAnswered);
                continue;
            }

            await ExecuteRefundAsync(refund);
            if (State.DeadLettered)
            {
                return;
            }
        }
    }

    /// <summary>A refund the PSP has not answered within its retry budget: asking on could outlive the PSP's memory of the key.</summary>
    private bool IsOutOfBudget(RefundState refund) =>
        refund.Status == RefundStatus.Pending && !refund.PspAnswered && refund.Attempts - refund.AttemptsAtBudgetStart >= options.Value.Retry.AttemptsMax;

    /// <summary>
    /// Moves a pending refund on: asks the PSP to refund (same idempotency key, so asking again never refunds twice)
    /// until the PSP has answered, and from then on only looks the refund up until it is final.
    /// </summary>
    private async Task ExecuteRefundAsync(RefundState refund)
    {
        var retry = options.Value.Retry;
        if (IsOutOfBudget(refund))
        {
            // Past the budget the outcome is still unknown: park the order for an operator, like a charge.
            State.LastError = $"refund {refund.RefundId}: no answer from the PSP after {refund.Attempts} attempts";
            Park(DeadLetterStore.StagePspRefund);
            State.UpdatedAt = time.GetUtcNow();
            await PersistAsync();
            await RecordDeadLetterAsync();
            logger.LogError("Refund {RefundId} of {PaymentOrderId}: no answer from the PSP after {Attempts} attempts; parked as a dead letter",
                refund.RefundId, PaymentOrderId, refund.Attempts);
            return;
        }

        refund.Attempts++;
        // Past the window the PSP may have forgotten the refund's idempotency key (a replay, days later): creating
        // again could refund twice, so look for it first and create only when there is none.
        var keyMayBeForgotten = !refund.PspAnswered && time.GetUtcNow() - refund.CreatedAt > options.Value.PspIdempotencyWindow;
        var earlier = keyMayBeForgotten && State.PspReference is { } charged ? await psp.FindRefundAsync(refund.RefundId, charged, CancellationToken.None) : null;
        var outcome = earlier
            ?? (refund.PspAnswered && refund.PspRefundId is { } pspRefundId
                ? await psp.GetRefundAsync(refund.RefundId, pspRefundId, CancellationToken.None)
                : await psp.RefundAsync(
                    new PspRefundRequest(refund.RefundId, PaymentOrderId, State.PspReference ?? string.Empty, refund.AmountMinor, State.Currency, refund.Reason),
                    CancellationToken.None));
        refund.PspRefundId = outcome.PspRefundId ?? refund.PspRefundId;
        refund.PspAnswered |= outcome.Status != PspRefundStatus.Unknown;
        switch (outcome.Status)
        {
            case PspRefundStatus.Succeeded:
                FinishRefund(refund.RefundId, succeeded: true, failureCode: null);
                break;
            case PspRefundStatus.Failed:
                FinishRefund(refund.RefundId, succeeded: false, outcome.FailureCode);
                break;
            case PspRefundStatus.Pending:
                // Its webhook normally finishes it; failing that, a later drive looks it up.
                refund.NextRetryAt = time.GetUtcNow() + options.Value.PspPollAfter;
                ArmRetryTimer(options.Value.PspPollAfter, keepAlive: false);
                break;
            case PspRefundStatus.Unknown:
                var delay = RetryDelay.Next(refund.Attempts - refund.AttemptsAtBudgetStart, retry.DelayBase, retry.DelayMax, outcome.RetryAfter, Random.Shared);
                refund.NextRetryAt = time.GetUtcNow() + delay;
                ArmRetryTimer(delay);
                logger.LogWarning("Refund {RefundId} of {PaymentOrderId}: PSP outcome unknown ({Error}); retrying", refund.RefundId, PaymentOrderId, outcome.FailureMessage);
                break;
            default:
                throw new UnreachableException($"Unknown refund outcome {outcome.Status}.");
        }

        State.UpdatedAt = time.GetUtcNow();
        AssertConsistent();
        await PersistAsync();
    }

    private bool FinishRefund(string? refundId, bool succeeded, string? failureCode)
    {
        var refund = State.Refunds.FirstOrDefault(candidate => candidate.RefundId == refundId);
        if (refund is { Status: RefundStatus.Succeeded } && !succeeded)
        {
            // Stripe can fail a refund after it succeeded (refund.failed): the buyer did not get the money back.
            logger.LogWarning("Refund {RefundId} of {PaymentOrderId} failed after it had succeeded ({FailureCode}); its booking is reversed",
                refund.RefundId, PaymentOrderId, failureCode);
            refund.Status = RefundStatus.Failed;
            refund.FailureCode = failureCode;
            refund.FailedAfterSuccess = true;
            refund.ReversalToAvailable = State.FulfilledAt is not null;
            State.RefundedMinor -= refund.AmountMinor;
            return true;
        }

        if (refund is null || refund.Status != RefundStatus.Pending)
        {
            return false;
        }

        refund.Status = succeeded ? RefundStatus.Succeeded : RefundStatus.Failed;
        refund.FailureCode = failureCode;
        if (succeeded)
        {
            State.RefundedMinor = checked(State.RefundedMinor + refund.AmountMinor);
            refund.FromAvailable = State.FulfilledAt is not null;
        }

        return true;
    }

    public async Task<ReplayPaymentOrderResult> ReplayAsync()
    {
        if (!State.Exists || !State.DeadLettered)
        {
            if (State.Exists)
            {
                // A row left 'parked' by a crash between un-parking the order and marking its row: settle the row.
                await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, time.GetUtcNow());
            }

            return new ReplayPaymentOrderResult(ReplayPaymentOrderOutcome.NotParked, State.Exists ? ToView() : null);
        }

        Unpark();
        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
        await RegisterDriveReminderAsync();
        await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, State.UpdatedAt);
        await DriveAsync();
        return new ReplayPaymentOrderResult(ReplayPaymentOrderOutcome.Replayed, ToView());
    }

    private void Park(string stage)
    {
        State.DeadLettered = true;
        State.DeadLetteredAt = time.GetUtcNow();
        State.DeadLetterStage = stage;
        State.NextRetryAt = null;
        WakeUp.Cancel();
    }

    /// <summary>Back to work with a fresh budget: the attempts so far stay on record, the count toward the limit starts again.</summary>
    private void Unpark()
    {
        State.DeadLettered = false;
        State.DeadLetteredAt = null;
        State.DeadLetterStage = null;
        State.AttemptsAtBudgetStart = State.Attempts;
        State.EffectFailures = 0;
        State.NextRetryAt = null;
        foreach (var refund in State.Refunds)
        {
            refund.AttemptsAtBudgetStart = refund.Attempts;
            refund.NextRetryAt = null;
        }
    }

    /// <summary>What the order is parked for; orders parked before the stage was recorded tell it by their state.</summary>
    private string ParkedStage() =>
        State.DeadLetterStage
        ?? (State.Status != PaymentOrderStatus.Success ? DeadLetterStore.StagePspCharge
            : State.Refunds.Any(IsOutOfBudget) ? DeadLetterStore.StagePspRefund
            : DeadLetterStore.StageEffects);

    private Task RecordDeadLetterAsync()
    {
        var stage = ParkedStage();
        var attempts = stage switch
        {
            DeadLetterStore.StagePspCharge => State.Attempts,
            DeadLetterStore.StagePspRefund => State.Refunds.Where(IsOutOfBudget).Select(refund => refund.Attempts).DefaultIfEmpty(0).Max(),
            _ => State.EffectFailures,
        };
        return deadLetters.ParkAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, State.MerchantId, stage, attempts, State.LastError ?? "unknown", State.DeadLetteredAt ?? State.UpdatedAt);
    }

    private void ScheduleRetry(TimeSpan? retryAfter)
    {
        var retry = options.Value.Retry;
        var delay = RetryDelay.Next(State.Attempts, retry.DelayBase, retry.DelayMax, retryAfter, Random.Shared);
        State.NextRetryAt = time.GetUtcNow() + delay;
        ArmRetryTimer(delay);
    }

    /// <summary>One timer serves the charge, every refund and the effects: whatever is due first wakes the order.</summary>
    private WakeUpTimer WakeUp => _wakeUp ??= new WakeUpTimer(this, DriveAsync, time);

    private void ArmRetryTimer(TimeSpan delay, bool keepAlive = true) => WakeUp.Arm(delay, keepAlive);

    /// <summary>
    /// The outbox: wallet and ledger, each applied once however often this runs, in either order of failure.
    /// Both carry the operation id, so they run side by side and their flags are written together.
    /// </summary>
    private async Task ApplyEffectsAsync()
    {
        var effects = OwedEffects();
        if (effects.Count == 0)
        {
            return;
        }

        try
        {
            await Task.WhenAll(effects.Select(effect => effect.Applying));
        }
        catch (Exception exception)
        {
            // What failed stays owed: the timer (or, after a crash, the reminder) applies it again, with backoff,
            // until the budget is spent and the order is parked for an operator.
            State.EffectFailures++;
            State.LastError = $"{exception.GetType().Name}: {exception.Message}";
            if (State.EffectFailures >= options.Value.Retry.AttemptsMax)
            {
                Park(DeadLetterStore.StageEffects);
                logger.LogError(exception, "Payment order {PaymentOrderId}: wallet/ledger effects failed {Failures} times; parked as a dead letter", PaymentOrderId, State.EffectFailures);
            }
            else
            {
                var retry = options.Value.Retry;
                ArmRetryTimer(RetryDelay.Next(State.EffectFailures, retry.DelayBase, retry.DelayMax, retryAfter: null, Random.Shared));
                logger.LogWarning(exception, "Payment order {PaymentOrderId}: wallet/ledger effect failed; will retry", PaymentOrderId);
            }
        }

        foreach (var effect in effects.Where(effect => effect.Applying.IsCompletedSuccessfully))
        {
            effect.MarkApplied();
        }

        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
        if (State.DeadLettered)
        {
            await RecordDeadLetterAsync();
        }
    }

    /// <summary>
    /// The outbox: the pay-in's wallet credit and ledger booking, then the fulfillment's move to available and each
    /// succeeded refund's wallet debit and reversing booking (and, for a refund that bounced, their reversal). Each carries
    /// its operation id, so applying one again is a no-op; they run side by side and their flags are written together. The
    /// rest waits for the pay-in: a reversal needs something to reverse.
    /// </summary>
    private List<(Task Applying, Action MarkApplied)> OwedEffects()
    {
        var currency = Currency.Get(State.Currency);
        var amount = new Money(State.AmountMinor, currency);
        var wallet = GrainFactory.GetGrain<ISellerWalletGrain>(State.SellerAccount);
        var ledger = GrainFactory.GetGrain<ILedgerWriterGrain>(LedgerAccounts.WriterShardFor(PaymentOrderId));
        var receivable = LedgerAccounts.PspReceivable(PspName);
        var pending = LedgerAccounts.SellerPending(State.SellerAccount);
        var available = LedgerAccounts.SellerAvailable(State.SellerAccount);
        var effects = new List<(Task, Action)>();
        void Owe(bool applied, Func<Task> apply, Action markApplied)
        {
            if (!applied)
            {
                effects.Add((apply(), markApplied));
            }
        }

        LedgerTransaction Transfer(string externalId, string kind, string? pspReference, string debit, string credit, Money money) =>
            new(externalId, kind, PaymentOrderId, pspReference, [new LedgerEntry(debit, EntryDirection.Debit, money), new LedgerEntry(credit, EntryDirection.Credit, money)]);

        var payInId = $"payin:{PaymentOrderId}";
        Owe(State.WalletUpdated, () => wallet.CreditPendingAsync(new CreditPendingFunds(payInId, State.MerchantId, amount)), () => State.WalletUpdated = true);
        Owe(State.LedgerUpdated, () => ledger.AppendAsync(Transfer(payInId, "payin", State.PspReference, receivable, pending, amount)), () => State.LedgerUpdated = true);
        if (effects.Count > 0)
        {
            return effects;
        }

        if (State.OwesFulfillmentEffects)
        {
            var fulfilled = new Money(State.FulfilledMinor, currency);
            var fulfillmentId = $"fulfillment:{PaymentOrderId}";
            Owe(State.FulfillmentWalletUpdated, () => wallet.MoveAsync(new MoveFunds(fulfillmentId, fulfilled, WalletBucket.Pending, WalletBucket.Available)),
                () => State.FulfillmentWalletUpdated = true);
            Owe(State.FulfillmentLedgerUpdated, () => ledger.AppendAsync(Transfer(fulfillmentId, "fulfillment", State.PspReference, pending, available, fulfilled)),
                () => State.FulfillmentLedgerUpdated = true);
        }

        foreach (var refund in State.Refunds.Where(refund => refund.OwesEffects))
        {
            var refunded = new Money(refund.AmountMinor, currency);
            var refundId = $"refund:{refund.RefundId}";
            // A refund of a fulfilled order takes from available, which may go below zero (the seller then owes us).
            var refundedFrom = refund.FromAvailable ? WalletBucket.Available : WalletBucket.Pending;
            Owe(refund.WalletUpdated, () => wallet.MoveAsync(new MoveFunds(refundId, refunded, refundedFrom, To: null)), () => refund.WalletUpdated = true);
            Owe(refund.LedgerUpdated, () => ledger.AppendAsync(Transfer(refundId, "refund", refund.PspRefundId, refund.FromAvailable ? available : pending, receivable, refunded)),
                () => refund.LedgerUpdated = true);
            if (refund.FailedAfterSuccess)
            {
                // The refund bounced: the seller is owed the money again, and the PSP owes it to us again.
                var reversalId = $"refund_failed:{refund.RefundId}";
                var returnedTo = refund.ReversalToAvailable ? WalletBucket.Available : WalletBucket.Pending;
                Owe(refund.ReversalWalletUpdated, () => wallet.MoveAsync(new MoveFunds(reversalId, refunded, From: null, returnedTo)), () => refund.ReversalWalletUpdated = true);
                Owe(refund.ReversalLedgerUpdated, () => ledger.AppendAsync(Transfer(reversalId, "refund_failed", refund.PspRefundId, receivable, refund.ReversalToAvailable ? available : pending, refunded)),
                    () => refund.ReversalLedgerUpdated = true);
            }
        }

        return effects;
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
    /// Writes the state. The order's changes are not undone one by one on failure: the activation goes away and the
    /// next call starts again from what is stored, which the write-ahead design makes safe. Its timer goes with it.
    /// </summary>
    private Task PersistAsync() => order.WriteOrUndoAsync(this, () =>
    {
        WakeUp.Cancel();
    });

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
            State.Refunds.Select(ToRefundView).ToArray(),
            State.FulfilledAt,
            State.OwesFulfillmentEffects);
    }

    private RefundView ToRefundView(RefundState refund) => new(
        refund.RefundId, PaymentOrderId, new Money(refund.AmountMinor, Currency.Get(State.Currency)), refund.Status, refund.Reason, refund.CreatedAt, refund.OwesEffects);
}
