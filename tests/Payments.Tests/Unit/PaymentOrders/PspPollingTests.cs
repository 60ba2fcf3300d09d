using Payments.Core.PaymentOrders;
using Payments.Grains.PaymentOrders;
using Payments.Psp;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>A payment the PSP finishes later: when to ask, when to give up on the buyer, and closing a failed hosted page.</summary>
public sealed class PspPollingTests
{
    [Fact]
    public void A_quiet_psp_is_asked_one_poll_interval_after_it_last_spoke()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);
        time.Advance(TimeSpan.FromSeconds(20));

        var step = OrderFixtures.Rules(time).Polling.Next(state);

        Assert.Equal(PollStepKind.Wait, step.Kind);
        Assert.Equal(WakeUp.Poll(TimeSpan.FromSeconds(40)), step.WakeUp);
        Assert.Equal(OrderFixtures.Start.AddDays(1), step.Deadline);
    }

    [Fact]
    public void Once_the_interval_passed_the_psp_is_asked_now()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);
        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(PollStepKind.Ask, OrderFixtures.Rules(time).Polling.Next(state).Kind);
    }

    [Fact]
    public void At_the_deadline_the_payment_is_canceled_and_just_before_it_the_wait_ends_at_the_deadline()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);
        var polling = OrderFixtures.Rules(time).Polling;
        state.PspCheckedAt = OrderFixtures.Start.AddDays(1).AddSeconds(-30);
        time.SetUtcNow(OrderFixtures.Start.AddDays(1).AddSeconds(-10));

        Assert.Equal(WakeUp.Poll(TimeSpan.FromSeconds(10)), polling.Next(state).WakeUp);

        time.SetUtcNow(OrderFixtures.Start.AddDays(1));
        Assert.Equal(PollStepKind.Expire, polling.Next(state).Kind);
    }

    [Fact]
    public void An_order_that_began_to_wait_before_there_was_a_deadline_counts_from_its_last_change()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);
        state.ActionRequiredAt = null;
        state.UpdatedAt = OrderFixtures.Start.AddHours(2);
        time.Advance(TimeSpan.FromHours(3));

        var step = OrderFixtures.Rules(time).Polling.Next(state);

        Assert.Equal(OrderFixtures.Start.AddHours(2), state.ActionRequiredAt);
        Assert.Equal(OrderFixtures.Start.AddHours(26), step.Deadline);
    }

    [Fact]
    public void An_answer_still_waiting_asks_again_in_one_interval_and_keeps_the_new_page()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);
        time.Advance(TimeSpan.FromMinutes(5));

        var next = OrderFixtures.Rules(time).Polling.ApplyPollOutcome(state, PspChargeOutcome.RequiresAction("pi_3ds", "requires_action", "https://psp.example/3ds/2"),
            OrderFixtures.Start.AddDays(1));

        Assert.Equal(WakeUp.Poll(TimeSpan.FromMinutes(1)), next);
        Assert.Equal("https://psp.example/3ds/2", state.ActionUrl);
        Assert.Equal(OrderFixtures.Start.AddMinutes(5), state.PspCheckedAt);
        Assert.Equal(OrderFixtures.Start.AddMinutes(5), state.UpdatedAt);
        Assert.Equal(PaymentOrderStatus.RequiresAction, state.Status);
    }

    [Fact]
    public void A_final_answer_to_a_poll_finishes_the_payment()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);

        var next = OrderFixtures.Rules(time).Polling.ApplyPollOutcome(state, PspChargeOutcome.Succeeded("pi_3ds"), OrderFixtures.Start.AddDays(1));

        Assert.Null(next);
        Assert.Equal(PaymentOrderStatus.Success, state.Status);
        Assert.Null(state.ActionUrl);
    }

    [Fact]
    public void A_canceled_payment_fails_with_action_expired()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);
        time.Advance(TimeSpan.FromDays(1));

        var step = OrderFixtures.Rules(time).Polling.ApplyExpiryOutcome(state, PspChargeOutcome.Declined("canceled", "Canceled.", "pi_3ds"));

        Assert.Equal(ExpiryStepKind.Expired, step.Kind);
        Assert.Equal(PaymentOrderStatus.Failed, state.Status);
        Assert.Equal("action_expired", state.Failure!.Code);
        Assert.Equal("The buyer did not complete the payment within 1.00:00:00; it was canceled at the PSP.", state.Failure.Message);
        Assert.Equal("pi_3ds", state.PspReference);
        Assert.False(state.HostedPageClosed);
    }

    [Fact]
    public void An_expired_hosted_page_is_closed_by_the_same_answer()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.NewHostedOrder();
        var rules = OrderFixtures.Rules(time);
        rules.Charge.StartIfNew(state);
        rules.Charge.ApplyOutcome(state, PspChargeOutcome.RequiresAction("cs_1", "open", "https://psp.example/pay/cs_1"));

        var step = rules.Polling.ApplyExpiryOutcome(state, PspChargeOutcome.Declined("expired", null));

        Assert.Equal(ExpiryStepKind.Expired, step.Kind);
        Assert.True(state.HostedPageClosed);
        Assert.False(state.OwesWork());
    }

    [Fact]
    public void A_payment_made_as_its_wait_ran_out_is_booked_as_any_success()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);

        var step = OrderFixtures.Rules(time).Polling.ApplyExpiryOutcome(state, PspChargeOutcome.Succeeded("pi_3ds"));

        Assert.Equal(ExpiryStepKind.PaidMeanwhile, step.Kind);
        Assert.Equal(PaymentOrderStatus.Success, state.Status);
    }

    [Fact]
    public void A_cancel_refused_or_unanswered_is_asked_again_with_the_next_key_and_backoff()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);
        var polling = OrderFixtures.Rules(time).Polling;

        var first = polling.ApplyExpiryOutcome(state, PspChargeOutcome.Unknown("timeout", null));
        var second = polling.ApplyExpiryOutcome(state, PspChargeOutcome.RequiresAction("pi_3ds", "processing"));
        var third = polling.ApplyExpiryOutcome(state, PspChargeOutcome.Declined("payment_intent_unexpected_state", null));

        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(1)), first.WakeUp);
        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(2)), second.WakeUp);
        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(4)), third.WakeUp);
        Assert.Equal(ExpiryStepKind.Retrying, third.Kind);
        Assert.Equal(3, state.ActionExpiryAttempts);
        Assert.Equal(PaymentOrderStatus.RequiresAction, state.Status);
    }

    [Fact]
    public void Nothing_registered_at_the_psp_is_canceled_without_a_call()
    {
        var time = OrderFixtures.Clock();
        var state = WaitingForBuyer(time);
        state.PspReference = null;

        OrderFixtures.Rules(time).Polling.ApplyExpiryOutcome(state, PspPolling.NothingToCancel);

        Assert.Equal(PaymentOrderStatus.Failed, state.Status);
        Assert.Equal("action_expired", state.Failure!.Code);
    }

    [Theory]
    [InlineData(PspOutcomeKind.Unknown)]
    [InlineData(PspOutcomeKind.RequiresAction)]
    public void A_page_that_could_not_be_closed_is_asked_again_at_the_base_delay_and_nothing_changes(PspOutcomeKind kind)
    {
        var time = OrderFixtures.Clock();
        var state = FailedHostedOrder();
        time.Advance(TimeSpan.FromMinutes(3));

        var step = OrderFixtures.Rules(time).Polling.ApplyCloseOutcome(state, new PspChargeOutcome(kind, "cs_1", null, null, null));

        Assert.False(step.Closed);
        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(1)), step.WakeUp);
        Assert.False(state.HostedPageClosed);
        Assert.Equal(OrderFixtures.Start, state.UpdatedAt);
    }

    [Fact]
    public void A_closed_page_is_recorded()
    {
        var time = OrderFixtures.Clock();
        var state = FailedHostedOrder();
        time.Advance(TimeSpan.FromMinutes(3));

        var step = OrderFixtures.Rules(time).Polling.ApplyCloseOutcome(state, PspChargeOutcome.Declined("expired", null));

        Assert.Equal(new CloseStep(Closed: true, LatePaymentFound: false, WakeUp: null), step);
        Assert.True(state.HostedPageClosed);
        Assert.Equal(OrderFixtures.Start.AddMinutes(3), state.UpdatedAt);
        Assert.Null(state.LatePayment);
    }

    [Fact]
    public void A_page_found_paid_when_closing_it_is_a_late_payment_of_the_whole_amount()
    {
        var time = OrderFixtures.Clock();
        var state = FailedHostedOrder();

        var step = OrderFixtures.Rules(time).Polling.ApplyCloseOutcome(state, PspChargeOutcome.Succeeded("pi_late"));

        Assert.True(step.Closed);
        Assert.True(step.LatePaymentFound);
        Assert.Equal("pi_late", state.LatePayment!.PaymentIntentId);
        Assert.Equal(OrderFixtures.AmountMinor, state.LatePayment.AmountMinor);
        Assert.Equal(RefundStatus.Pending, state.LatePayment.RefundStatus);
        Assert.True(state.OwesWork());
    }

    private static PaymentOrderState WaitingForBuyer(TimeProvider time)
    {
        var state = OrderFixtures.NewTokenOrder();
        var rules = OrderFixtures.Rules(time);
        rules.Charge.StartIfNew(state);
        rules.Charge.BeginAttempt(state);
        rules.Charge.ApplyOutcome(state, PspChargeOutcome.RequiresAction("pi_3ds", "requires_action", "https://psp.example/3ds"));
        return state;
    }

    private static PaymentOrderState FailedHostedOrder()
    {
        var state = OrderFixtures.NewHostedOrder();
        state.Status = PaymentOrderStatus.Failed;
        state.HostedSessionId = "cs_1";
        return state;
    }
}
