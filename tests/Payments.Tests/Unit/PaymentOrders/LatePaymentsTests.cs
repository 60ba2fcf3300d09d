using Payments.Core.PaymentOrders;
using Payments.Grains.PaymentOrders;
using Payments.Psp;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>A hosted page paid after its order FAILED: recorded once, refunded once under late_{order}, never given up on.</summary>
public sealed class LatePaymentsTests
{
    [Fact]
    public void Only_a_failed_hosted_page_order_records_a_late_payment_and_only_once()
    {
        var time = OrderFixtures.Clock();
        var late = OrderFixtures.Rules(time).LatePayments;
        var failedToken = OrderFixtures.NewTokenOrder();
        failedToken.Status = PaymentOrderStatus.Failed;
        var waiting = OrderFixtures.NewHostedOrder();
        var failed = FailedHostedOrder();

        Assert.False(late.Record(failedToken, "pi_late"));
        Assert.False(late.Record(waiting, "pi_late"));
        Assert.False(late.Record(failed, ""));
        Assert.True(late.Record(failed, "pi_late"));
        Assert.False(late.Record(failed, "pi_other"));
        Assert.Equal("pi_late", failed.LatePayment!.PaymentIntentId);
    }

    [Fact]
    public void The_refund_goes_back_on_the_paying_intent_under_the_order_s_late_refund_id()
    {
        var time = OrderFixtures.Clock();
        var state = FailedHostedOrder();
        var late = OrderFixtures.Rules(time).LatePayments;
        late.Record(state, "pi_late");

        var call = late.BeginRefund(state, state.LatePayment!);

        Assert.Equal("late_po_unit_1", call.RefundId);
        Assert.Equal(new PspRefundRequest("late_po_unit_1", OrderFixtures.PaymentOrderId, "pi_late", OrderFixtures.AmountMinor, "USD", Reason: null), call.Create);
        Assert.Null(call.SearchCharge);
        Assert.Equal(1, state.LatePayment!.Attempts);

        time.Advance(TimeSpan.FromDays(1));
        Assert.Equal("pi_late", late.BeginRefund(state, state.LatePayment).SearchCharge);
    }

    [Fact]
    public void Unanswered_it_backs_off_and_past_the_budget_keeps_asking_at_the_longest_delay()
    {
        var time = OrderFixtures.Clock();
        var state = FailedHostedOrder();
        var late = OrderFixtures.Rules(time).LatePayments;
        late.Record(state, "pi_late");
        var unknown = new PspRefundOutcome(PspRefundStatus.Unknown, null, "timeout", null);

        late.BeginRefund(state, state.LatePayment!);
        var first = late.ApplyRefundOutcome(state, state.LatePayment!, unknown);
        for (var attempt = 2; attempt < 10; attempt++)
        {
            late.BeginRefund(state, state.LatePayment!);
            late.ApplyRefundOutcome(state, state.LatePayment!, unknown);
        }

        late.BeginRefund(state, state.LatePayment!);
        var tenth = late.ApplyRefundOutcome(state, state.LatePayment!, unknown);

        Assert.Equal(new LateRefundStep(LateRefundStepKind.Unanswered, WakeUp.Retry(TimeSpan.FromSeconds(1))), first);
        Assert.Equal(new LateRefundStep(LateRefundStepKind.UnansweredPastBudget, WakeUp.Retry(TimeSpan.FromMinutes(5))), tenth);
        Assert.Equal(RefundStatus.Pending, state.LatePayment!.RefundStatus);
        Assert.Equal(OrderFixtures.Start.AddMinutes(5), state.LatePayment.NextRetryAt);
    }

    [Fact]
    public void A_refund_refused_for_good_leaves_the_money_owed_to_the_buyer_and_settles_once_booked()
    {
        var time = OrderFixtures.Clock();
        var state = FailedHostedOrder();
        var late = OrderFixtures.Rules(time).LatePayments;
        late.Record(state, "pi_late");

        var step = late.ApplyRefundOutcome(state, state.LatePayment!, new PspRefundOutcome(PspRefundStatus.Failed, "pre_late", "charge_disputed", null));

        Assert.Equal(LateRefundStepKind.RefusedForGood, step.Kind);
        Assert.Null(step.WakeUp);
        Assert.Equal("charge_disputed", state.LatePayment!.FailureCode);
        Assert.False(state.LatePayment.IsSettled);
        state.LatePayment.PaymentBooked = true;
        Assert.True(state.LatePayment.IsSettled);
    }

    [Fact]
    public void A_webhook_about_the_late_refund_finishes_it_and_no_other_refund_does()
    {
        var time = OrderFixtures.Clock();
        var state = FailedHostedOrder();
        var late = OrderFixtures.Rules(time).LatePayments;
        late.Record(state, "pi_late");

        Assert.False(late.FinishRefund(state, "re_other", succeeded: true, null, "pre_x"));
        Assert.True(late.FinishRefund(state, "late_po_unit_1", succeeded: true, null, "pre_late"));
        Assert.False(late.FinishRefund(state, "late_po_unit_1", succeeded: false, "late", null));
        Assert.Equal(RefundStatus.Succeeded, state.LatePayment!.RefundStatus);
        Assert.Equal("pre_late", state.LatePayment.PspRefundId);
        Assert.True(state.LatePayment.PspAnswered);
    }

    [Fact]
    public void A_failed_booking_round_backs_off_by_its_count()
    {
        var late = OrderFixtures.Rules(OrderFixtures.Clock()).LatePayments;
        var payment = new LatePaymentState { PaymentIntentId = "pi_late", AmountMinor = 1 };

        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(1)), late.AfterFailedBooking(payment));
        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(2)), late.AfterFailedBooking(payment));
        Assert.Equal(2, payment.BookingFailures);
    }

    private static PaymentOrderState FailedHostedOrder()
    {
        var state = OrderFixtures.NewHostedOrder();
        state.Status = PaymentOrderStatus.Failed;
        state.HostedSessionId = "cs_1";
        state.HostedPageClosed = true;
        return state;
    }
}
