using System.Diagnostics;
using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// A refund of a paid order: PENDING, reserved in state before the PSP hears of it (concurrent refunds never exceed the
/// payment), asked with the same key until the PSP answers, then only looked up until SUCCEEDED or FAILED; and a refund the
/// PSP fails after it succeeded, reversed.
/// </summary>
internal sealed class RefundStateMachine(string paymentOrderId, PaymentOrderOptions options, TimeProvider time, RetryBudget budget, PaymentOrderParking parking)
{
    /// <summary>What a refund request gets; a new refund is returned to be reserved, not yet in state.</summary>
    public RefundRequest Request(PaymentOrderState state, CreateRefund command)
    {
        // Pending refunds count as taken, or two concurrent ones could together exceed the payment.
        var reserved = state.Refunds.Where(refund => refund.Status != RefundStatus.Failed).Sum(refund => refund.AmountMinor);
        var remaining = state.AmountMinor - reserved;
        if (state.Refunds.FirstOrDefault(refund => refund.RefundId == command.RefundId || refund.RefundId == command.LegacyRefundId) is { } existing)
        {
            return new RefundRequest(CreateRefundOutcome.AlreadyExists, existing, remaining);
        }

        // A parked order waits for an operator: a new refund would move money at the PSP that nothing then books.
        if (!state.Exists || state.Status != PaymentOrderStatus.Success || state.DeadLettered || state.Refunds.Count >= options.RefundsMax)
        {
            return new RefundRequest(CreateRefundOutcome.NotRefundable, null, remaining);
        }

        var amount = command.AmountMinor ?? remaining;
        if (amount <= 0 || amount > remaining)
        {
            return new RefundRequest(CreateRefundOutcome.ExceedsPayment, null, remaining);
        }

        var refund = new RefundState
        {
            RefundId = command.RefundId,
            AmountMinor = amount,
            Status = RefundStatus.Pending,
            Reason = command.Reason,
            CreatedAt = time.GetUtcNow(),
        };
        return new RefundRequest(CreateRefundOutcome.Created, refund, remaining - amount);
    }

    /// <summary>Reserved before the PSP hears of it: a concurrent refund sees this amount as taken.</summary>
    public static void Reserve(PaymentOrderState state, RefundState refund)
    {
        state.Refunds.Add(refund);
        state.UpdatedAt = refund.CreatedAt;
    }

    /// <summary>
    /// Counts the next try of a pending refund and says how to ask; null when its budget is spent without an answer, and the
    /// order is parked for an operator, like a charge (to be stored and recorded as a dead letter).
    /// </summary>
    public RefundCall? BeginAttempt(PaymentOrderState state, RefundState refund)
    {
        if (refund.IsOutOfBudget(budget))
        {
            state.LastError = $"refund {refund.RefundId}: no answer from the PSP after {refund.Attempts} attempts";
            parking.Park(state, DeadLetterStore.StagePspRefund);
            state.UpdatedAt = time.GetUtcNow();
            return null;
        }

        refund.Attempts++;
        // Past the window the PSP may have forgotten the refund's idempotency key (a replay, days later): creating again could
        // refund twice, so it is looked for first and created only when there is none.
        var keyMayBeForgotten = !refund.PspAnswered && time.GetUtcNow() - refund.CreatedAt > options.PspIdempotencyWindow;
        return new RefundCall(
            refund.RefundId,
            SearchCharge: keyMayBeForgotten ? state.PspReference : null,
            LookUpPspRefundId: refund.PspAnswered ? refund.PspRefundId : null,
            new PspRefundRequest(refund.RefundId, paymentOrderId, state.PspReference ?? string.Empty, refund.AmountMinor, state.Currency, refund.Reason));
    }

    /// <summary>Applies the PSP's answer about a pending refund; the wake-up for the next look or try, if it stays pending.</summary>
    public WakeUp? ApplyOutcome(PaymentOrderState state, RefundState refund, PspRefundOutcome outcome)
    {
        refund.PspRefundId = outcome.PspRefundId ?? refund.PspRefundId;
        refund.PspAnswered |= outcome.Status != PspRefundStatus.Unknown;
        WakeUp? next = null;
        switch (outcome.Status)
        {
            case PspRefundStatus.Succeeded:
                Finish(state, refund.RefundId, succeeded: true, failureCode: null);
                break;
            case PspRefundStatus.Failed:
                Finish(state, refund.RefundId, succeeded: false, outcome.FailureCode);
                break;
            case PspRefundStatus.Pending:
                // Its webhook normally finishes it; failing that, a later drive looks it up.
                refund.NextRetryAt = time.GetUtcNow() + options.PspPollAfter;
                next = WakeUp.Poll(options.PspPollAfter);
                break;
            case PspRefundStatus.Unknown:
                var delay = budget.DelayAfter(refund.AttemptsInBudget(), outcome.RetryAfter);
                PaymentsMetrics.PspRetries.Add(1, new KeyValuePair<string, object?>("operation", "refund"));
                refund.NextRetryAt = time.GetUtcNow() + delay;
                next = WakeUp.Retry(delay);
                break;
            default:
                throw new UnreachableException($"Unknown refund outcome {outcome.Status}.");
        }

        state.UpdatedAt = time.GetUtcNow();
        return next;
    }

    /// <summary>Ends a refund with the PSP's answer (its response, a webhook, or our own check), unless it is past that.</summary>
    public RefundFinish Finish(PaymentOrderState state, string? refundId, bool succeeded, string? failureCode, string? pspRefundId = null)
    {
        var refund = state.Refunds.FirstOrDefault(candidate => candidate.RefundId == refundId);
        if (refund is not null && pspRefundId is not null)
        {
            // A refund whose create answer was lost learns its PSP id here: its booking carries it, and reports name it.
            refund.PspRefundId ??= pspRefundId;
        }

        if (refund is { Status: RefundStatus.Succeeded } && !succeeded)
        {
            // Stripe can fail a refund after it succeeded (refund.failed): the buyer did not get the money back, so the
            // refund's booking is reversed, into the bucket the money is in now.
            refund.Status = RefundStatus.Failed;
            refund.FailureCode = failureCode;
            refund.FailedAfterSuccess = true;
            refund.ReversalToAvailable = state.FulfilledAt is not null;
            state.RefundedMinor -= refund.AmountMinor;
            PaymentOrderEvents.OweRefundEvent(state, refund, succeeded: false, time.GetUtcNow());
            return RefundFinish.FailedAfterSuccess;
        }

        if (refund is null || refund.Status != RefundStatus.Pending)
        {
            return RefundFinish.Ignored;
        }

        refund.Status = succeeded ? RefundStatus.Succeeded : RefundStatus.Failed;
        refund.FailureCode = failureCode;
        if (succeeded)
        {
            state.RefundedMinor = checked(state.RefundedMinor + refund.AmountMinor);
            // A fulfilled order's money is in available: the refund takes it from there, fixed now for every retry of its booking.
            refund.FromAvailable = state.FulfilledAt is not null;
        }

        PaymentOrderEvents.OweRefundEvent(state, refund, succeeded, time.GetUtcNow());
        return RefundFinish.Finished;
    }
}

/// <param name="Refund">The refund that exists already, or the new one to reserve; null when refused.</param>
/// <param name="RemainingMinor">What may still be refunded after this request.</param>
internal sealed record RefundRequest(CreateRefundOutcome Outcome, RefundState? Refund, long RemainingMinor);

internal enum RefundFinish
{
    Finished,
    Ignored,

    /// <summary>The PSP failed a refund it had said succeeded: its booking is reversed.</summary>
    FailedAfterSuccess,
}
