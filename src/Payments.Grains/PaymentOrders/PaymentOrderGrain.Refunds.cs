using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Payments.Core.PaymentOrders;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>Refunds at the PSP: the order's own (reserved in state before the PSP hears of them), and a late payment's.</summary>
internal sealed partial class PaymentOrderGrain
{
    public async Task<CreateRefundResult> RefundAsync(CreateRefund command)
    {
        var request = Rules.Refunds.Request(State, command);
        if (request.Outcome != CreateRefundOutcome.Created)
        {
            return new CreateRefundResult(request.Outcome, request.Refund is { } existing ? PaymentOrderViews.Refund(PaymentOrderId, State, existing) : null, request.RemainingMinor);
        }

        var refund = request.Refund ?? throw new UnreachableException("A created refund comes with its state.");
        // Stored with a drive wake-up: should we die right after the reservation is stored, the sweep still finishes the refund.
        RefundStateMachine.Reserve(State, refund);
        AssertConsistent();
        await PersistAsync();
        await ExecuteRefundAsync(refund);
        await ApplyEffectsAsync();
        return new CreateRefundResult(CreateRefundOutcome.Created, PaymentOrderViews.Refund(PaymentOrderId, State, refund), request.RemainingMinor);
    }

    private async Task ExecutePendingRefundsAsync()
    {
        foreach (var refund in State.Refunds.Where(refund => refund.Status == RefundStatus.Pending).ToArray())
        {
            // Only when due: the order also wakes for webhooks, other refunds and the sweep, and each of those
            // must not spend an attempt of this refund's budget.
            if (WakeUp.UntilDue(refund.NextRetryAt, time.GetUtcNow(), refund.PspAnswered) is { } wait)
            {
                Arm(wait);
                continue;
            }

            await ExecuteRefundAsync(refund);
            if (State.DeadLettered)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Moves a pending refund on: asks the PSP to refund (same idempotency key, so asking again never refunds twice)
    /// until the PSP has answered, and from then on only looks the refund up until it is final.
    /// </summary>
    private async Task ExecuteRefundAsync(RefundState refund)
    {
        if (Rules.Refunds.BeginAttempt(State, refund) is not { } call)
        {
            Timer.Cancel();
            await PersistAsync();
            await RecordDeadLetterAsync();
            logger.LogError("Refund {RefundId} of {PaymentOrderId}: no answer from the PSP after {Attempts} attempts; parked as a dead letter",
                refund.RefundId, PaymentOrderId, refund.Attempts);
            return;
        }

        var outcome = await CallPspForRefundAsync(call);
        if (Rules.Refunds.ApplyOutcome(State, refund, outcome) is { } next)
        {
            Arm(next);
        }

        if (outcome.Status == PspRefundStatus.Unknown)
        {
            logger.LogWarning("Refund {RefundId} of {PaymentOrderId}: PSP outcome unknown ({Error}); retrying", refund.RefundId, PaymentOrderId, outcome.FailureMessage);
        }

        AssertConsistent();
        await PersistAsync();
    }

    private async Task<PspRefundOutcome> CallPspForRefundAsync(RefundCall call)
    {
        var earlier = call.SearchCharge is { } charged ? await psp.FindRefundAsync(call.RefundId, charged, CancellationToken.None) : null;
        return earlier
            ?? (call.LookUpPspRefundId is { } pspRefundId
                ? await psp.GetRefundAsync(call.RefundId, pspRefundId, CancellationToken.None)
                : await psp.RefundAsync(call.Create, CancellationToken.None));
    }

    /// <summary>A FAILED order's hosted page was paid: refund the buyer (when due), then book what happened.</summary>
    private async Task SettleLatePaymentAsync()
    {
        var late = State.LatePayment!;
        if (late.RefundStatus == RefundStatus.Pending)
        {
            if (WakeUp.UntilDue(late.NextRetryAt, time.GetUtcNow(), late.PspAnswered) is { } wait)
            {
                Arm(wait);
            }
            else
            {
                await RefundLatePaymentAsync(late);
            }
        }

        await BookLatePaymentAsync(late);
    }

    private async Task RefundLatePaymentAsync(LatePaymentState late)
    {
        var outcome = await CallPspForRefundAsync(Rules.LatePayments.BeginRefund(State, late));
        var step = Rules.LatePayments.ApplyRefundOutcome(State, late, outcome);
        if (step.WakeUp is { } next)
        {
            Arm(next);
        }

        switch (step.Kind)
        {
            case LateRefundStepKind.RefusedForGood:
                logger.LogError("Payment order {PaymentOrderId}: the refund of its late payment {PaymentIntentId} failed at the PSP ({FailureCode}); needs an operator",
                    PaymentOrderId, late.PaymentIntentId, outcome.FailureCode);
                break;
            case LateRefundStepKind.UnansweredPastBudget:
                logger.LogError("Payment order {PaymentOrderId}: no answer from the PSP to the refund of its late payment after {Attempts} attempts ({Error})",
                    PaymentOrderId, late.Attempts, outcome.FailureMessage);
                break;
        }

        await PersistAsync();
    }

    private async Task BookLatePaymentAsync(LatePaymentState late)
    {
        var bookings = StartMoves(Rules.Outbox.OwedForLatePayment(State, late));
        if (bookings.Count == 0)
        {
            return;
        }

        if (await bookings.CompleteAsync() is { } failure)
        {
            Arm(Rules.LatePayments.AfterFailedBooking(late));
            logger.LogWarning(failure, "Payment order {PaymentOrderId}: booking its late payment failed; will retry", PaymentOrderId);
        }

        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
    }
}
