using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Grains.PaymentOrders;
using Payments.Grains.Storage;
using Payments.Psp;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>Webhooks: applied where the state machines allow, never backwards; an order parked for that answer un-parks.</summary>
public sealed class PspNoticesTests
{
    [Fact]
    public void A_success_webhook_finishes_a_payment_waiting_for_the_buyer()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);
        time.Advance(TimeSpan.FromMinutes(2));

        var result = OrderFixtures.Rules(time).Notices.Apply(state, Notice(PspNoticeKind.PaymentSucceeded, paymentIntentId: "pi_3ds"));

        Assert.Equal(new NoticeResult(Applied: true, ResolvesDeadLetter: false, NoticeFinding.None), result);
        Assert.Equal(PaymentOrderStatus.Success, state.Status);
        Assert.Equal("pi_3ds", state.PspReference);
        Assert.Equal(OrderFixtures.Start.AddMinutes(2), state.UpdatedAt);
    }

    [Fact]
    public void A_failure_webhook_after_success_is_ignored()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.Paid();

        var result = OrderFixtures.Rules(time).Notices.Apply(state, Notice(PspNoticeKind.PaymentFailed, failureCode: "card_declined"));

        Assert.False(result.Applied);
        Assert.Equal(PaymentOrderStatus.Success, state.Status);
        Assert.Equal(OrderFixtures.Start, state.UpdatedAt);
    }

    [Fact]
    public void A_success_webhook_for_a_failed_token_order_is_ignored_and_flagged()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.NewTokenOrder();
        state.Status = PaymentOrderStatus.Failed;

        var result = OrderFixtures.Rules(time).Notices.Apply(state, Notice(PspNoticeKind.PaymentSucceeded, paymentIntentId: "pi_x"));

        Assert.Equal(new NoticeResult(Applied: false, ResolvesDeadLetter: false, NoticeFinding.PaidWhileFailed), result);
        Assert.Null(state.LatePayment);
    }

    [Fact]
    public void A_success_webhook_for_a_failed_hosted_page_records_a_late_payment_and_reopens_a_finished_order()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.NewHostedOrder();
        state.Status = PaymentOrderStatus.Failed;
        state.HostedSessionId = "cs_1";
        state.HostedPageClosed = true;
        var notice = Notice(PspNoticeKind.PaymentSucceeded, paymentIntentId: "pi_late");
        var rules = OrderFixtures.Rules(time);

        Assert.Null(rules.WakeUps.For(state));
        var result = rules.Notices.Apply(state, notice);

        Assert.Equal(NoticeFinding.LatePaymentRecorded, result.Finding);
        Assert.True(result.Applied);
        Assert.Equal("pi_late", state.LatePayment!.PaymentIntentId);
        // The write that records it stores a drive wake-up: after a crash the late payment is still refunded and booked.
        Assert.Equal(new DurableWakeUp(OrderFixtures.Start + new PaymentOrderOptions().ReminderPeriod, DurableWakeUp.Drive), rules.WakeUps.For(state));
    }

    [Fact]
    public void A_refund_that_bounces_on_a_settled_order_reopens_it_but_a_new_refund_does_not()
    {
        var state = OrderFixtures.Paid();
        var refund = OrderFixtures.PendingRefund();
        refund.Status = RefundStatus.Succeeded;
        refund.WalletUpdated = true;
        refund.LedgerUpdated = true;
        state.Refunds.Add(refund);

        var rules = OrderFixtures.Rules(OrderFixtures.Clock());

        Assert.Equal(DurableWakeUp.AutoFulfill, rules.WakeUps.For(state)?.Reason);
        Assert.False(rules.Notices.Apply(state, Notice(PspNoticeKind.RefundFailed, refundId: "re_other")).Applied);
        Assert.Equal(DurableWakeUp.AutoFulfill, rules.WakeUps.For(state)?.Reason);
        var result = rules.Notices.Apply(state, Notice(PspNoticeKind.RefundFailed, refundId: "re_1", failureCode: "lost_card"));

        Assert.Equal(NoticeFinding.RefundFailedAfterSuccess, result.Finding);
        Assert.True(refund.FailedAfterSuccess);
        Assert.True(state.OwesWork());
        Assert.Equal(DurableWakeUp.Drive, rules.WakeUps.For(state)?.Reason);
    }

    [Fact]
    public void The_psp_s_final_answer_to_a_charge_parked_for_want_of_it_un_parks_the_order()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.NewTokenOrder();
        var rules = OrderFixtures.Rules(time);
        rules.Charge.StartIfNew(state);
        state.Attempts = 10;
        rules.Parking.Park(state, DeadLetterStore.StagePspCharge);

        var result = rules.Notices.Apply(state, Notice(PspNoticeKind.PaymentSucceeded, paymentIntentId: "pi_1"));

        Assert.True(result.ResolvesDeadLetter);
        Assert.False(state.DeadLettered);
        Assert.Null(state.DeadLetterStage);
        Assert.Equal(10, state.AttemptsAtBudgetStart);
        Assert.Equal(PaymentOrderStatus.Success, state.Status);
    }

    [Fact]
    public void A_refund_s_answer_un_parks_an_order_parked_for_it_only_when_no_refund_is_left_without_an_answer()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.Paid();
        var first = OrderFixtures.PendingRefund("re_1");
        var second = OrderFixtures.PendingRefund("re_2");
        first.Attempts = 10;
        second.Attempts = 10;
        state.Refunds.AddRange([first, second]);
        var rules = OrderFixtures.Rules(time);
        rules.Parking.Park(state, DeadLetterStore.StagePspRefund);

        var one = rules.Notices.Apply(state, Notice(PspNoticeKind.RefundSucceeded, refundId: "re_1"));
        var both = rules.Notices.Apply(state, Notice(PspNoticeKind.RefundSucceeded, refundId: "re_2"));

        Assert.False(one.ResolvesDeadLetter);
        Assert.True(both.ResolvesDeadLetter);
        Assert.False(state.DeadLettered);
        Assert.Equal(4_000, state.RefundedMinor);
    }

    [Fact]
    public void A_requires_action_webhook_only_moves_an_executing_order()
    {
        var time = OrderFixtures.Clock();
        var executing = OrderFixtures.NewTokenOrder();
        var rules = OrderFixtures.Rules(time);
        rules.Charge.StartIfNew(executing);

        Assert.True(rules.Notices.Apply(executing, Notice(PspNoticeKind.PaymentRequiresAction, paymentIntentId: "pi_3ds")).Applied);
        Assert.Equal(PaymentOrderStatus.RequiresAction, executing.Status);
        Assert.False(rules.Notices.Apply(executing, Notice(PspNoticeKind.PaymentRequiresAction, paymentIntentId: "pi_3ds")).Applied);
        Assert.False(rules.Notices.Apply(executing, Notice(PspNoticeKind.Informational)).Applied);
    }

    private static PaymentOrderState WaitingForBuyer(TimeProvider time)
    {
        var state = OrderFixtures.NewTokenOrder();
        var rules = OrderFixtures.Rules(time);
        rules.Charge.StartIfNew(state);
        rules.Charge.ApplyOutcome(state, PspChargeOutcome.RequiresAction("pi_3ds", "requires_action", "https://psp.example/3ds"));
        return state;
    }

    private static PspNotice Notice(PspNoticeKind kind, string? paymentIntentId = null, string? failureCode = null, string? refundId = null) =>
        new("evt_1", "test", kind, paymentIntentId, failureCode, FailureMessage: null, refundId);
}
