using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>The charge and what the PSP says of it: the write-ahead attempt, webhooks, lookups, and closing a failed hosted page.</summary>
internal sealed partial class PaymentOrderGrain
{
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
        var paidLate = notice.Kind == PspNoticeKind.PaymentSucceeded && State.Status == PaymentOrderStatus.Failed && State.ReturnUrl is not null
            && State.LatePayment is null;
        if ((refundBounces || paidLate) && IsDone())
        {
            // A finished order has no reminder, and this notice makes it owe effects again: the reminder first, before
            // anything changes, so that a crash after the change is stored still books the reversal.
            await RegisterDriveReminderAsync();
        }

        var applied = notice.Kind switch
        {
            PspNoticeKind.PaymentSucceeded => Finish(PspChargeOutcome.Succeeded(notice.PaymentIntentId ?? State.PspReference ?? string.Empty))
                || RecordLatePayment(notice.PaymentIntentId),
            PspNoticeKind.PaymentFailed => Finish(PspChargeOutcome.Declined(notice.FailureCode ?? "payment_failed", notice.FailureMessage, notice.PaymentIntentId)),
            PspNoticeKind.PaymentRequiresAction when State.Status == PaymentOrderStatus.Executing => MoveToRequiresAction(notice.PaymentIntentId),
            PspNoticeKind.RefundSucceeded or PspNoticeKind.RefundFailed => FinishRefund(notice.RefundId, notice.Kind == PspNoticeKind.RefundSucceeded, notice.FailureCode, notice.PspRefundId)
                || FinishLateRefund(notice.RefundId, notice.Kind == PspNoticeKind.RefundSucceeded, notice.FailureCode, notice.PspRefundId),
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
            if (State.Status == PaymentOrderStatus.Failed && outcome.Kind == PspOutcomeKind.Succeeded && State.ReturnUrl is null)
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
        var now = time.GetUtcNow();
        // Orders that began to wait before there was a deadline count from their last change, fixed now (and stored with the
        // next write), or every poll would push their deadline on.
        State.ActionRequiredAt ??= State.UpdatedAt;
        var deadline = State.ActionRequiredAt.Value + options.Value.ActionTimeout;
        if (deadline <= now)
        {
            await ExpireActionAsync();
            return;
        }

        var due = (State.PspCheckedAt ?? State.UpdatedAt) + options.Value.PspPollAfter;
        due = due < deadline ? due : deadline;
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
            var untilDeadline = deadline - State.PspCheckedAt.Value;
            ArmRetryTimer(untilDeadline < options.Value.PspPollAfter ? untilDeadline : options.Value.PspPollAfter, keepAlive: false);
        }

        State.UpdatedAt = State.PspCheckedAt.Value;
        AssertConsistent();
        await PersistAsync();
    }

    /// <summary>
    /// The buyer has not finished the payment within <see cref="PaymentOrderOptions.ActionTimeout"/>: it is canceled at the
    /// PSP (the hosted page expired, the payment intent canceled) so nobody can pay it later, and the order FAILS. If the PSP
    /// says it was paid meanwhile, it is booked as any success; if the PSP cannot be reached, asked again with backoff.
    /// </summary>
    private async Task ExpireActionAsync()
    {
        var outcome = State.HostedSessionId is { } sessionId
            ? await psp.CloseHostedPageAsync(PaymentOrderId, sessionId, CancellationToken.None)
            : State.PspReference is { } intentId
                ? await psp.CancelChargeAsync(PaymentOrderId, intentId, State.ActionExpiryAttempts, CancellationToken.None)
                : PspChargeOutcome.Declined("canceled", "Nothing was registered at the PSP.", null);
        State.PspCheckedAt = time.GetUtcNow();
        switch (outcome.Kind)
        {
            case PspOutcomeKind.Succeeded:
                logger.LogInformation("Payment order {PaymentOrderId}: paid at the PSP when its wait for the buyer ran out", PaymentOrderId);
                Finish(outcome);
                break;
            case PspOutcomeKind.Declined when State.HostedSessionId is not null || outcome.FailureCode == "canceled":
                State.HostedPageClosed = State.HostedSessionId is not null;
                Finish(PspChargeOutcome.Declined(
                    "action_expired",
                    $"The buyer did not complete the payment within {options.Value.ActionTimeout}; it was canceled at the PSP.",
                    State.PspReference));
                break;
            default:
                // Unknown, or not canceled at the PSP (its cancel was refused while the payment was processing, which may yet
                // fail back to payable): the order stays waiting and cancels again, with the next attempt's key.
                State.ActionExpiryAttempts++;
                var retry = options.Value.Retry;
                ArmRetryTimer(RetryDelay.Next(State.ActionExpiryAttempts, retry.DelayBase, retry.DelayMax, outcome.RetryAfter, Random.Shared));
                logger.LogWarning("Payment order {PaymentOrderId}: could not cancel the unfinished payment at the PSP ({Outcome} {Error}); retrying",
                    PaymentOrderId, outcome.Kind, outcome.FailureMessage ?? outcome.FailureCode);
                break;
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
                RecordLatePayment(outcome.PspReference);
                break;
            case PspOutcomeKind.RequiresAction:
                ArmRetryTimer(options.Value.Retry.DelayBase);
                return;
        }

        State.HostedPageClosed = true;
        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
    }
}
