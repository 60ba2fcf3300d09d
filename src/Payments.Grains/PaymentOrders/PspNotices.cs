using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// What the PSP tells of its own accord (a webhook, or reconciliation's check applied as one): applied only where the state
/// machines allow the move, never backwards; and an order parked for want of that very answer is un-parked by it.
/// </summary>
internal sealed class PspNotices(ChargeStateMachine charge, RefundStateMachine refunds, LatePayments latePayments, PaymentOrderParking parking, RetryBudget budget, TimeProvider time)
{
    public NoticeResult Apply(PaymentOrderState state, PspNotice notice)
    {
        var parkedForRefund = state.DeadLettered && parking.ParkedStage(state) == DeadLetterStore.StagePspRefund;
        var (applied, finding) = ApplyToStateMachines(state, notice);
        if (!applied)
        {
            // Late, duplicated or out of order: an event never moves the order backwards.
            return new NoticeResult(Applied: false, ResolvesDeadLetter: false, finding);
        }

        // Parked because we could not learn the outcome, and now the PSP tells it: nothing left for an operator.
        var resolvesDeadLetter = state.DeadLettered
            && ((state.Status.IsFinal() && notice.Kind is PspNoticeKind.PaymentSucceeded or PspNoticeKind.PaymentFailed)
                || (parkedForRefund && !state.Refunds.Any(refund => refund.IsOutOfBudget(budget))));
        if (resolvesDeadLetter)
        {
            PaymentOrderParking.Unpark(state);
        }

        state.UpdatedAt = time.GetUtcNow();
        return new NoticeResult(Applied: true, resolvesDeadLetter, finding);
    }

    private (bool Applied, NoticeFinding Finding) ApplyToStateMachines(PaymentOrderState state, PspNotice notice)
    {
        switch (notice.Kind)
        {
            case PspNoticeKind.PaymentSucceeded:
                var finished = charge.Finish(state, PspChargeOutcome.Succeeded(notice.PaymentIntentId ?? state.PspReference ?? string.Empty));
                if (finished == FinishOutcome.Finished)
                {
                    return (true, NoticeFinding.None);
                }

                return latePayments.Record(state, notice.PaymentIntentId)
                    ? (true, NoticeFinding.LatePaymentRecorded)
                    : (false, finished == FinishOutcome.PaidWhileFailed ? NoticeFinding.PaidWhileFailed : NoticeFinding.None);
            case PspNoticeKind.PaymentFailed:
                var declined = PspChargeOutcome.Declined(notice.FailureCode ?? "payment_failed", notice.FailureMessage, notice.PaymentIntentId);
                return (charge.Finish(state, declined) == FinishOutcome.Finished, NoticeFinding.None);
            case PspNoticeKind.PaymentRequiresAction when state.Status == PaymentOrderStatus.Executing:
                charge.MoveToRequiresAction(state, notice.PaymentIntentId);
                return (true, NoticeFinding.None);
            case PspNoticeKind.RefundSucceeded or PspNoticeKind.RefundFailed:
                var succeeded = notice.Kind == PspNoticeKind.RefundSucceeded;
                var refund = refunds.Finish(state, notice.RefundId, succeeded, notice.FailureCode, notice.PspRefundId);
                if (refund != RefundFinish.Ignored)
                {
                    return (true, refund == RefundFinish.FailedAfterSuccess ? NoticeFinding.RefundFailedAfterSuccess : NoticeFinding.None);
                }

                return (latePayments.FinishRefund(state, notice.RefundId, succeeded, notice.FailureCode, notice.PspRefundId), NoticeFinding.None);
            default:
                return (false, NoticeFinding.None);
        }
    }
}

/// <summary>What a notice found that someone must hear of (the grain logs it).</summary>
internal enum NoticeFinding
{
    None,

    /// <summary>The PSP reports money taken for a FAILED token order: never applied, left to reconciliation.</summary>
    PaidWhileFailed,

    /// <summary>A FAILED order's hosted page was paid: the money goes back to the buyer.</summary>
    LatePaymentRecorded,

    /// <summary>A refund failed after it had succeeded: its booking is reversed.</summary>
    RefundFailedAfterSuccess,
}

/// <param name="ResolvesDeadLetter">The order was parked for this answer and is un-parked (the grain marks its row replayed).</param>
internal readonly record struct NoticeResult(bool Applied, bool ResolvesDeadLetter, NoticeFinding Finding);
