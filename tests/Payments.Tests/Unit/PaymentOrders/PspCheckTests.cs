using Payments.Core.PaymentOrders;
using Payments.Core.Reconciliation;
using Payments.Grains.PaymentOrders;
using Payments.Psp;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>Reconciliation's check: which answers of the PSP are news to apply, and which settle the check themselves.</summary>
public sealed class PspCheckTests
{
    [Fact]
    public void A_charge_the_psp_finished_is_applied_as_a_webhook_with_a_stable_id()
    {
        var succeeded = PspCheck.ForCharge(OrderFixtures.PaymentOrderId, PspChargeOutcome.Succeeded("pi_1"));
        var declined = PspCheck.ForCharge(OrderFixtures.PaymentOrderId, PspChargeOutcome.Declined("card_declined", "Declined.", "pi_2"));

        Assert.Null(succeeded.Outcome);
        Assert.Equal(new PspNotice("reconciliation:po_unit_1:payment", "reconciliation", PspNoticeKind.PaymentSucceeded, "pi_1", null, null, null), succeeded.Notice);
        Assert.Equal(new PspNotice("reconciliation:po_unit_1:payment", "reconciliation", PspNoticeKind.PaymentFailed, "pi_2", "card_declined", "Declined.", null), declined.Notice);
    }

    [Fact]
    public void A_charge_the_psp_lacks_cannot_tell_or_still_waits_on_settles_the_check()
    {
        Assert.Equal(PspCheckOutcome.NotAtPsp, PspCheck.ForCharge(OrderFixtures.PaymentOrderId, null).Outcome);
        Assert.Equal(PspCheckOutcome.PspUnreachable, PspCheck.ForCharge(OrderFixtures.PaymentOrderId, PspChargeOutcome.Unknown("timeout", null)).Outcome);
        Assert.Equal(PspCheckOutcome.AlreadyAgreed, PspCheck.ForCharge(OrderFixtures.PaymentOrderId, PspChargeOutcome.RequiresAction("pi_1", "processing")).Outcome);
    }

    [Fact]
    public void A_refund_s_news_is_applied_and_an_answer_we_already_hold_agrees()
    {
        var state = OrderFixtures.Paid();
        var pending = OrderFixtures.PendingRefund("re_1");
        var succeeded = OrderFixtures.PendingRefund("re_2");
        succeeded.Status = RefundStatus.Succeeded;

        var news = PspCheck.ForRefund(OrderFixtures.PaymentOrderId, state, pending, new PspRefundOutcome(PspRefundStatus.Succeeded, "pre_1", null, null));
        var bounced = PspCheck.ForRefund(OrderFixtures.PaymentOrderId, state, succeeded, new PspRefundOutcome(PspRefundStatus.Failed, "pre_2", "lost_card", "Lost."));

        Assert.Equal(new PspNotice("reconciliation:po_unit_1:refund:re_1", "reconciliation", PspNoticeKind.RefundSucceeded, "pi_1", null, null, "re_1", "pre_1"), news.Notice);
        Assert.Equal(PspNoticeKind.RefundFailed, bounced.Notice!.Kind);
        Assert.Equal(PspCheckOutcome.AlreadyAgreed,
            PspCheck.ForRefund(OrderFixtures.PaymentOrderId, state, succeeded, new PspRefundOutcome(PspRefundStatus.Succeeded, "pre_2", null, null)).Outcome);
        Assert.Equal(PspCheckOutcome.AlreadyAgreed,
            PspCheck.ForRefund(OrderFixtures.PaymentOrderId, state, pending, new PspRefundOutcome(PspRefundStatus.Pending, "pre_1", null, null)).Outcome);
        Assert.Equal(PspCheckOutcome.PspUnreachable,
            PspCheck.ForRefund(OrderFixtures.PaymentOrderId, state, pending, new PspRefundOutcome(PspRefundStatus.Unknown, null, null, null)).Outcome);
        Assert.Equal(PspCheckOutcome.NotAtPsp, PspCheck.ForRefund(OrderFixtures.PaymentOrderId, state, pending, null).Outcome);
    }

    [Fact]
    public void The_order_answers_with_its_most_pressing_outcome()
    {
        Assert.Equal(PspCheckOutcome.PspUnreachable, PspCheck.Combine([PspCheckOutcome.Applied, PspCheckOutcome.PspUnreachable, PspCheckOutcome.Contradicts]));
        Assert.Equal(PspCheckOutcome.Contradicts, PspCheck.Combine([PspCheckOutcome.Applied, PspCheckOutcome.Contradicts]));
        Assert.Equal(PspCheckOutcome.Applied, PspCheck.Combine([PspCheckOutcome.NotAtPsp, PspCheckOutcome.Applied]));
        Assert.Equal(PspCheckOutcome.NotAtPsp, PspCheck.Combine([PspCheckOutcome.AlreadyAgreed, PspCheckOutcome.NotAtPsp]));
        Assert.Equal(PspCheckOutcome.AlreadyAgreed, PspCheck.Combine([]));
        Assert.Equal(PspCheckOutcome.Applied, PspCheck.AfterNotice(PspNoticeOutcome.Applied));
        Assert.Equal(PspCheckOutcome.AlreadyAgreed, PspCheck.AfterNotice(PspNoticeOutcome.Ignored));
    }
}
