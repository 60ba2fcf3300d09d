using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Payments.Core.Checkout;
using Payments.Core.PaymentOrders;
using Payments.Core.Reconciliation;
using Payments.Grains.DeadLetters;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>The PSP's side of the charge: the write-ahead attempt, webhooks, lookups, cancels, closing a hosted page, reconciliation's check.</summary>
internal sealed partial class PaymentOrderGrain
{
    private async Task ChargeAsync()
    {
        // Write-ahead: the attempt is on record before the PSP hears of it (the first one since this activation's create write).
        var onRecord = State.AttemptCountedAhead && _countedAheadHere;
        State.AttemptCountedAhead = onRecord;
        _countedAheadHere = false;
        var call = Rules.Charge.BeginAttempt(State);
        if (!onRecord)
        {
            await PersistAsync();
        }

        var outcome = call switch
        {
            TokenCharge { LooksForEarlierCharge: true } token => await psp.FindChargeAsync(PaymentOrderId, CancellationToken.None)
                ?? await psp.ChargeAsync(token.Request, CancellationToken.None),
            TokenCharge token => await psp.ChargeAsync(token.Request, CancellationToken.None),
            HostedPageCharge page => await psp.CreateHostedPageAsync(page.Request, CancellationToken.None),
            _ => throw new UnreachableException($"Unknown charge call {call}."),
        };
        var step = Rules.Charge.ApplyOutcome(State, outcome);
        if (step.Kind == ChargeStepKind.Parked)
        {
            Timer.Cancel();
            logger.LogError("Payment order {PaymentOrderId}: PSP outcome still unknown after {Attempts} attempts ({Error}); parked as a dead letter",
                PaymentOrderId, State.Attempts, State.LastError);
        }
        else if (step.WakeUp is { } retry)
        {
            Arm(retry);
            logger.LogWarning("Payment order {PaymentOrderId}: PSP outcome unknown after attempt {Attempt} ({Error}); retrying at {NextRetryAt}",
                PaymentOrderId, State.Attempts, State.LastError, State.NextRetryAt);
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

        if (State.AwaitsCheckout)
        {
            await ConfirmBeforePspNoticeAsync(notice);
        }

        // A notice that makes a finished order owe work again (a refund that bounced, a page paid late) is stored with a drive
        // wake-up: the write that records it wakes the order after a crash.
        var result = Rules.Notices.Apply(State, notice);
        LogFinding(result.Finding, notice);
        if (!result.Applied)
        {
            return PspNoticeOutcome.Ignored;
        }

        AssertConsistent();
        await PersistAsync();
        if (result.ResolvesDeadLetter)
        {
            await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPaymentOrder, PaymentOrderId, State.UpdatedAt);
        }

        await DriveAsync();
        return PspNoticeOutcome.Applied;
    }

    /// <summary>
    /// The PSP knows an order stored as awaiting its checkout: it was let go and sent, and the write after the call did not
    /// land (a crash mid-call). Its checkout confirms; the PSP's word is never thrown away, and the order is never released.
    /// </summary>
    private async Task ConfirmBeforePspNoticeAsync(PspNotice notice)
    {
        switch (await Checkout.ConfirmOrderAsync(PaymentOrderId))
        {
            case OrderGoAhead.Go:
                break;
            case OrderGoAhead.Wait:
                // A retried creation holds the checkout: failed, so that the PSP sends the notice again (it is not recorded).
                throw new InvalidOperationException($"Payment order {PaymentOrderId}: its checkout is being created; the PSP notice waits for it.");
            default:
                // Cannot happen while the checkout keeps its word (it lets orders go only once all exist, and never undoes then).
                logger.LogError("Payment order {PaymentOrderId}: the PSP knows it ({PaymentIntentId}) but its checkout {CheckoutId} says it was never created; applying the PSP's word for investigation",
                    PaymentOrderId, notice.PaymentIntentId ?? string.Empty, State.CheckoutId);
                break;
        }

        State.AwaitsCheckout = false;
    }

    private void LogFinding(NoticeFinding finding, PspNotice notice)
    {
        switch (finding)
        {
            case NoticeFinding.PaidWhileFailed:
                // The PSP took money for an order we consider failed: never silently. Reconciliation must see it.
                logger.LogError("Payment order {PaymentOrderId} is FAILED but the PSP reports a successful payment {PspReference}; needs investigation",
                    PaymentOrderId, notice.PaymentIntentId ?? State.PspReference ?? string.Empty);
                break;
            case NoticeFinding.LatePaymentRecorded:
                LogLatePayment();
                break;
            case NoticeFinding.RefundFailedAfterSuccess:
                logger.LogWarning("Refund {RefundId} of {PaymentOrderId} failed after it had succeeded ({FailureCode}); its booking is reversed",
                    notice.RefundId, PaymentOrderId, notice.FailureCode);
                break;
        }
    }

    private void LogLatePayment() =>
        logger.LogWarning("Payment order {PaymentOrderId} is FAILED but its hosted page was paid ({PaymentIntentId}); refunding it to the buyer",
            PaymentOrderId, State.LatePayment?.PaymentIntentId);

    /// <summary>Asks the PSP about a payment it finishes later, once it has been quiet for <see cref="PaymentOrderOptions.PspPollAfter"/>.</summary>
    private async Task CheckPspIfDueAsync()
    {
        var step = Rules.Polling.Next(State);
        if (step.Kind == PollStepKind.Expire)
        {
            await ExpireActionAsync();
            return;
        }

        if (step.WakeUp is { } notYet)
        {
            // Not kept alive for it: if the order is deactivated meanwhile, the sweep of its stored wake-up brings it back.
            Arm(notYet);
            return;
        }

        var outcome = State.HostedSessionId is { } sessionId
            ? await psp.GetHostedPageAsync(PaymentOrderId, sessionId, CancellationToken.None)
            : await psp.GetChargeAsync(PaymentOrderId, State.PspReference ?? string.Empty, CancellationToken.None);
        if (Rules.Polling.ApplyPollOutcome(State, outcome, step.Deadline) is { } next)
        {
            Arm(next);
        }
        else
        {
            logger.LogInformation("Payment order {PaymentOrderId}: no webhook came, the PSP says {Outcome}", PaymentOrderId, outcome.Kind);
        }

        AssertConsistent();
        await PersistAsync();
    }

    /// <summary>
    /// The buyer has not finished the payment within <see cref="PaymentOrderOptions.ActionTimeout"/>: it is canceled at the
    /// PSP (the hosted page expired, the payment intent canceled) so nobody can pay it later, and the order FAILS.
    /// </summary>
    private async Task ExpireActionAsync()
    {
        var outcome = State.HostedSessionId is { } sessionId
            ? await psp.CloseHostedPageAsync(PaymentOrderId, sessionId, CancellationToken.None)
            : State.PspReference is { } intentId
                ? await psp.CancelChargeAsync(PaymentOrderId, intentId, State.ActionExpiryAttempts, CancellationToken.None)
                : PspPolling.NothingToCancel;
        var step = Rules.Polling.ApplyExpiryOutcome(State, outcome);
        if (step.Kind == ExpiryStepKind.PaidMeanwhile)
        {
            logger.LogInformation("Payment order {PaymentOrderId}: paid at the PSP when its wait for the buyer ran out", PaymentOrderId);
        }

        if (step.WakeUp is { } retry)
        {
            Arm(retry);
            logger.LogWarning("Payment order {PaymentOrderId}: could not cancel the unfinished payment at the PSP ({Outcome} {Error}); retrying",
                PaymentOrderId, outcome.Kind, outcome.FailureMessage ?? outcome.FailureCode);
        }

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
        var step = Rules.Polling.ApplyCloseOutcome(State, outcome);
        if (step.WakeUp is { } retry)
        {
            Arm(retry);
            return;
        }

        if (step.LatePaymentFound)
        {
            LogLatePayment();
        }

        await PersistAsync();
    }

    /// <summary>
    /// Reconciliation's auto-fix: the PSP's report shows a charge or refund this order has not booked (a lost answer, a
    /// parked order, a refund that bounced without its webhook), so the order asks the PSP itself, never trusting the report,
    /// and applies the answer the way a webhook would: the state moves on, a parked order un-parks, the outbox books.
    /// </summary>
    public async Task<PspCheckResult> CheckWithPspAsync()
    {
        if (!State.Exists)
        {
            return new PspCheckResult(PspCheckOutcome.UnknownOrder, null);
        }

        var outcomes = new List<PspCheckOutcome>();
        if (State.Status is PaymentOrderStatus.NotStarted or PaymentOrderStatus.Executing or PaymentOrderStatus.RequiresAction)
        {
            var charge = State.HostedSessionId is { } sessionId ? await psp.GetHostedPageAsync(PaymentOrderId, sessionId, CancellationToken.None)
                : State.PspReference is { } reference ? await psp.GetChargeAsync(PaymentOrderId, reference, CancellationToken.None)
                : await psp.FindChargeAsync(PaymentOrderId, CancellationToken.None);
            outcomes.Add(await ApplyCheckAsync(PspCheck.ForCharge(PaymentOrderId, charge)));
        }
        else if (State.Status == PaymentOrderStatus.Failed)
        {
            // Final: a charge the PSP reports for a failed order is money to give back or explain, not to book.
            outcomes.Add(PspCheckOutcome.Contradicts);
        }

        if (State.Status == PaymentOrderStatus.Success)
        {
            foreach (var refundId in State.Refunds.Where(refund => refund.Status != RefundStatus.Failed).Select(refund => refund.RefundId).ToArray())
            {
                // Looked up afresh each time: the notice applied for the one before drove the order.
                var refund = State.Refunds.First(candidate => candidate.RefundId == refundId);
                var answer = refund.PspRefundId is { } pspRefundId ? await psp.GetRefundAsync(refund.RefundId, pspRefundId, CancellationToken.None)
                    : State.PspReference is { } charged ? await psp.FindRefundAsync(refund.RefundId, charged, CancellationToken.None)
                    : null;
                outcomes.Add(await ApplyCheckAsync(PspCheck.ForRefund(PaymentOrderId, State, refund, answer)));
            }

            // Booked late, or parked for its effects: whatever is owed is applied now.
            await DriveAsync();
        }

        var outcome = PspCheck.Combine(outcomes);
        logger.LogInformation("Payment order {PaymentOrderId}: checked with the PSP for reconciliation: {Outcome}", PaymentOrderId, outcome);
        return new PspCheckResult(outcome, State.Status.ToString());
    }

    private async Task<PspCheckOutcome> ApplyCheckAsync(PspCheckStep step) =>
        step.Notice is { } notice ? PspCheck.AfterNotice(await ApplyPspNoticeAsync(notice)) : step.Outcome!.Value;
}
