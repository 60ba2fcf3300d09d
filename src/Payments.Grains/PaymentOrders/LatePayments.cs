using System.Diagnostics;
using Payments.Core.PaymentOrders;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// A hosted page paid after its order FAILED: the buyer paid for nothing. The money is recorded once per order, refunded at
/// the PSP exactly once (refund id <c>late_{order}</c>, the same key however often asked) and booked by the outbox
/// (<see cref="PaymentOrderOutbox.OwedForLatePayment"/>). The seller's wallet never sees it.
/// </summary>
internal sealed class LatePayments(string paymentOrderId, PaymentOrderOptions options, TimeProvider time, RetryBudget budget)
{
    public static string RefundIdFor(string paymentOrderId) => "late_" + paymentOrderId;

    /// <summary>Records a payment of a FAILED hosted-page order, once; false if there is nothing new to record.</summary>
    public bool Record(PaymentOrderState state, string? paymentIntentId)
    {
        if (state.Status != PaymentOrderStatus.Failed || state.ReturnUrl is null || state.LatePayment is not null || string.IsNullOrEmpty(paymentIntentId))
        {
            return false;
        }

        state.LatePayment = new LatePaymentState
        {
            PaymentIntentId = paymentIntentId,
            AmountMinor = state.AmountMinor,
            FoundAt = time.GetUtcNow(),
            RefundStatus = RefundStatus.Pending,
        };
        return true;
    }

    /// <summary>A webhook about the late payment's refund; false if it is not about it or changes nothing.</summary>
    public bool FinishRefund(PaymentOrderState state, string? refundId, bool succeeded, string? failureCode, string? pspRefundId)
    {
        if (state.LatePayment is not { RefundStatus: RefundStatus.Pending } late || refundId != RefundIdFor(paymentOrderId))
        {
            return false;
        }

        late.PspRefundId ??= pspRefundId;
        late.PspAnswered = true;
        late.RefundStatus = succeeded ? RefundStatus.Succeeded : RefundStatus.Failed;
        late.FailureCode = failureCode;
        return true;
    }

    /// <summary>Counts the next try of the late payment's refund and says how to ask.</summary>
    public RefundCall BeginRefund(PaymentOrderState state, LatePaymentState late)
    {
        late.Attempts++;
        // Past the window the PSP may have forgotten the refund's key: look for it first, create only when there is none.
        var keyMayBeForgotten = !late.PspAnswered && time.GetUtcNow() - late.FoundAt > options.PspIdempotencyWindow;
        var refundId = RefundIdFor(paymentOrderId);
        return new RefundCall(
            refundId,
            SearchCharge: keyMayBeForgotten ? late.PaymentIntentId : null,
            LookUpPspRefundId: late.PspAnswered ? late.PspRefundId : null,
            new PspRefundRequest(refundId, paymentOrderId, late.PaymentIntentId, late.AmountMinor, state.Currency, Reason: null));
    }

    /// <summary>Applies the PSP's answer about the late payment's refund.</summary>
    public LateRefundStep ApplyRefundOutcome(PaymentOrderState state, LatePaymentState late, PspRefundOutcome outcome)
    {
        late.PspRefundId = outcome.PspRefundId ?? late.PspRefundId;
        late.PspAnswered |= outcome.Status != PspRefundStatus.Unknown;
        LateRefundStep step;
        switch (outcome.Status)
        {
            case PspRefundStatus.Succeeded:
                late.RefundStatus = RefundStatus.Succeeded;
                late.NextRetryAt = null;
                step = new LateRefundStep(LateRefundStepKind.Refunded);
                break;
            case PspRefundStatus.Failed:
                // Final at the PSP: the money stays with us (booked as owed to the buyer) until an operator pays it back.
                late.RefundStatus = RefundStatus.Failed;
                late.FailureCode = outcome.FailureCode;
                late.NextRetryAt = null;
                step = new LateRefundStep(LateRefundStepKind.RefusedForGood);
                break;
            case PspRefundStatus.Pending:
                late.NextRetryAt = time.GetUtcNow() + options.PspPollAfter;
                step = new LateRefundStep(LateRefundStepKind.Pending, WakeUp.Poll(options.PspPollAfter));
                break;
            case PspRefundStatus.Unknown:
                // Asked again with the same key (so never refunded twice), backing off; past the budget it keeps asking at the
                // longest delay, loudly, rather than give up on the buyer's money.
                var delay = budget.DelayAfter(late.Attempts, outcome.RetryAfter);
                late.NextRetryAt = time.GetUtcNow() + delay;
                step = new LateRefundStep(budget.IsSpent(late.Attempts) ? LateRefundStepKind.UnansweredPastBudget : LateRefundStepKind.Unanswered, WakeUp.Retry(delay));
                break;
            default:
                throw new UnreachableException($"Unknown refund outcome {outcome.Status}.");
        }

        state.UpdatedAt = time.GetUtcNow();
        return step;
    }

    /// <summary>A round of the late payment's bookings failed: they stay owed, and are tried again with backoff, never parked.</summary>
    public WakeUp AfterFailedBooking(LatePaymentState late)
    {
        late.BookingFailures++;
        return WakeUp.Retry(budget.DelayAfter(late.BookingFailures));
    }
}

internal enum LateRefundStepKind
{
    Refunded,

    /// <summary>The PSP refused the refund for good: an operator must pay the buyer back.</summary>
    RefusedForGood,

    Pending,
    Unanswered,

    /// <summary>Still no answer, and the budget is spent: asked on, and logged as an error.</summary>
    UnansweredPastBudget,
}

internal readonly record struct LateRefundStep(LateRefundStepKind Kind, WakeUp? WakeUp = null);
