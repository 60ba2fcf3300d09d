using Payments.Core.PaymentOrders;
using Payments.Core.Reconciliation;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// Reconciliation's auto-fix: the PSP's report shows a charge or refund this order has not booked, so the order asks the PSP
/// itself (never trusting the report) and applies the answer the way a webhook would. This says which answers are news to
/// apply as a notice and which settle the check by themselves.
/// </summary>
internal static class PspCheck
{
    public static PspCheckStep ForCharge(string paymentOrderId, PspChargeOutcome? charge) => charge switch
    {
        null => PspCheckStep.Settled(PspCheckOutcome.NotAtPsp),
        { Kind: PspOutcomeKind.Unknown } => PspCheckStep.Settled(PspCheckOutcome.PspUnreachable),
        { Kind: PspOutcomeKind.Succeeded } => PspCheckStep.Apply(
            new PspNotice(NoticeId(paymentOrderId, "payment"), "reconciliation", PspNoticeKind.PaymentSucceeded, charge.PspReference, null, null, null)),
        { Kind: PspOutcomeKind.Declined } => PspCheckStep.Apply(
            new PspNotice(NoticeId(paymentOrderId, "payment"), "reconciliation", PspNoticeKind.PaymentFailed, charge.PspReference, charge.FailureCode, charge.FailureMessage, null)),
        _ => PspCheckStep.Settled(PspCheckOutcome.AlreadyAgreed),
    };

    public static PspCheckStep ForRefund(string paymentOrderId, PaymentOrderState state, RefundState refund, PspRefundOutcome? answer)
    {
        if (answer is null)
        {
            return PspCheckStep.Settled(PspCheckOutcome.NotAtPsp);
        }

        var kind = answer.Status switch
        {
            PspRefundStatus.Succeeded when refund.Status == RefundStatus.Pending => PspNoticeKind.RefundSucceeded,
            PspRefundStatus.Failed => PspNoticeKind.RefundFailed,
            PspRefundStatus.Unknown => (PspNoticeKind?)null,
            _ => PspNoticeKind.Informational,
        };
        return kind switch
        {
            null => PspCheckStep.Settled(PspCheckOutcome.PspUnreachable),
            PspNoticeKind.Informational => PspCheckStep.Settled(PspCheckOutcome.AlreadyAgreed),
            _ => PspCheckStep.Apply(new PspNotice(NoticeId(paymentOrderId, "refund:" + refund.RefundId), "reconciliation", kind.Value, state.PspReference,
                answer.FailureCode, answer.FailureMessage, refund.RefundId, answer.PspRefundId)),
        };
    }

    /// <summary>An applied notice fixed something; one the order ignored found it agreeing already.</summary>
    public static PspCheckOutcome AfterNotice(PspNoticeOutcome outcome) => outcome == PspNoticeOutcome.Applied ? PspCheckOutcome.Applied : PspCheckOutcome.AlreadyAgreed;

    /// <summary>The order's answer for all its checks: the most pressing one (the PSP unreachable, then a contradiction, then a fix).</summary>
    public static PspCheckOutcome Combine(IReadOnlyCollection<PspCheckOutcome> outcomes) =>
        outcomes.Contains(PspCheckOutcome.PspUnreachable) ? PspCheckOutcome.PspUnreachable
        : outcomes.Contains(PspCheckOutcome.Contradicts) ? PspCheckOutcome.Contradicts
        : outcomes.Contains(PspCheckOutcome.Applied) ? PspCheckOutcome.Applied
        : outcomes.Contains(PspCheckOutcome.NotAtPsp) ? PspCheckOutcome.NotAtPsp
        : PspCheckOutcome.AlreadyAgreed;

    private static string NoticeId(string paymentOrderId, string what) => $"reconciliation:{paymentOrderId}:{what}";
}

/// <param name="Outcome">The check's outcome when the answer settles it by itself.</param>
/// <param name="Notice">Otherwise the news, to apply as a webhook would.</param>
internal readonly record struct PspCheckStep(PspCheckOutcome? Outcome, PspNotice? Notice)
{
    public static PspCheckStep Settled(PspCheckOutcome outcome) => new(outcome, null);

    public static PspCheckStep Apply(PspNotice notice) => new(null, notice);
}
