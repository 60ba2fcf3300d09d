using Payments.Core.Events;
using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Grains.PaymentOrders;
using Payments.Psp;

namespace Payments.Tests.Unit.PaymentOrders;

public sealed class ChargeStateMachineTests
{
    [Fact]
    public void The_first_drive_starts_the_order_and_records_the_move()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.NewTokenOrder();
        time.Advance(TimeSpan.FromSeconds(3));

        OrderFixtures.Rules(time).Charge.StartIfNew(state);

        Assert.Equal(PaymentOrderStatus.Executing, state.Status);
        Assert.Equal([PaymentOrderStatus.NotStarted, PaymentOrderStatus.Executing], state.History.Select(entry => entry.Status));
        Assert.Equal(OrderFixtures.Start.AddSeconds(3), state.UpdatedAt);
        Assert.Empty(state.OwedEvents);
        Assert.False(state.OwesCheckoutNotice);
    }

    [Fact]
    public void A_created_order_starts_ahead_with_its_first_attempt_on_record_which_is_then_sent_without_counting_again()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.NewTokenOrder();
        var rules = OrderFixtures.Rules(time);

        rules.Charge.StartAhead(state);
        var (status, attempts, awaits, countedAhead) = (state.Status, state.Attempts, state.AwaitsCheckout, state.AttemptCountedAhead);
        time.Advance(TimeSpan.FromSeconds(2));
        var first = Assert.IsType<TokenCharge>(rules.Charge.BeginAttempt(state));
        var afterFirst = (state.Attempts, state.AttemptCountedAhead);
        rules.Charge.BeginAttempt(state);

        Assert.Equal((PaymentOrderStatus.Executing, 1, true, true), (status, attempts, awaits, countedAhead));
        Assert.Equal([PaymentOrderStatus.NotStarted, PaymentOrderStatus.Executing], state.History.Select(entry => entry.Status));
        Assert.Equal(OrderFixtures.Start, state.FirstAttemptAt);
        Assert.Equal(OrderFixtures.PaymentOrderId, first.Request.PaymentOrderId);
        Assert.False(first.LooksForEarlierCharge);
        Assert.Equal((1, false), afterFirst);
        Assert.Equal(2, state.Attempts);
        Assert.Empty(state.OwedEvents);
    }

    [Fact]
    public void A_move_the_state_machine_does_not_allow_throws_and_changes_nothing()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.Paid();

        Assert.Throws<InvalidOperationException>(() => OrderFixtures.Rules(time).Charge.Transition(state, PaymentOrderStatus.Failed));
        Assert.Equal(PaymentOrderStatus.Success, state.Status);
        Assert.Empty(state.OwedEvents);
    }

    [Fact]
    public void An_attempt_is_counted_before_the_call_and_a_token_order_is_charged_with_its_id_as_key()
    {
        var time = OrderFixtures.Clock();
        var state = Executing(time);
        state.NextRetryAt = OrderFixtures.Start;
        time.Advance(TimeSpan.FromSeconds(5));

        var call = Assert.IsType<TokenCharge>(OrderFixtures.Rules(time).Charge.BeginAttempt(state));

        Assert.Equal(1, state.Attempts);
        Assert.Equal(OrderFixtures.Start.AddSeconds(5), state.FirstAttemptAt);
        Assert.Equal(OrderFixtures.Start.AddSeconds(5), state.UpdatedAt);
        Assert.Null(state.NextRetryAt);
        Assert.False(call.LooksForEarlierCharge);
        Assert.Equal(OrderFixtures.PaymentOrderId, call.Request.PaymentOrderId);
        Assert.Equal(OrderFixtures.AmountMinor, call.Request.AmountMinor);
        Assert.Equal("USD", call.Request.Currency);
        Assert.Equal("pm_card_visa", call.Request.PaymentMethodToken);
        Assert.Equal(OrderFixtures.PaymentOrderId, call.Request.Metadata["payment_order_id"]);
        Assert.Equal("chk_1", call.Request.Metadata["checkout_id"]);
        Assert.Equal("seller_1", call.Request.Metadata["seller_account"]);
    }

    [Theory]
    [InlineData(23 * 60, false)]
    [InlineData(23 * 60 + 1, true)]
    public void Past_the_idempotency_window_a_token_charge_is_looked_for_before_it_is_made_again(int minutesAfterFirstAttempt, bool looksFirst)
    {
        var time = OrderFixtures.Clock();
        var state = Executing(time);
        var rules = OrderFixtures.Rules(time);
        rules.Charge.BeginAttempt(state);
        time.Advance(TimeSpan.FromMinutes(minutesAfterFirstAttempt));

        var call = Assert.IsType<TokenCharge>(rules.Charge.BeginAttempt(state));

        Assert.Equal(looksFirst, call.LooksForEarlierCharge);
        Assert.Equal(2, state.Attempts);
        Assert.Equal(OrderFixtures.Start, state.FirstAttemptAt);
    }

    [Fact]
    public void A_hosted_page_order_registers_its_page_and_never_searches()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.NewHostedOrder();
        var rules = OrderFixtures.Rules(time);
        rules.Charge.StartIfNew(state);
        rules.Charge.BeginAttempt(state);
        time.Advance(TimeSpan.FromDays(2));

        var call = Assert.IsType<HostedPageCharge>(rules.Charge.BeginAttempt(state));

        Assert.Equal("https://shop.example/return", call.Request.ReturnUrl);
        Assert.Equal(OrderFixtures.AmountMinor, call.Request.AmountMinor);
    }

    [Fact]
    public void Success_finishes_the_order_owes_its_event_and_tells_the_checkout()
    {
        var time = OrderFixtures.Clock();
        var state = Executing(time);
        var rules = OrderFixtures.Rules(time);
        rules.Charge.BeginAttempt(state);
        time.Advance(TimeSpan.FromSeconds(2));

        var step = rules.Charge.ApplyOutcome(state, PspChargeOutcome.Succeeded("pi_9"));

        Assert.Equal(ChargeStepKind.Finished, step.Kind);
        Assert.Null(step.WakeUp);
        Assert.Equal(PaymentOrderStatus.Success, state.Status);
        Assert.Equal("pi_9", state.PspReference);
        Assert.True(state.OwesCheckoutNotice);
        Assert.Equal(EventTypes.PaymentOrderSucceeded, Assert.Single(state.OwedEvents).Type);
        Assert.Equal(new PaymentOrderHistoryEntry(PaymentOrderStatus.Success, OrderFixtures.Start.AddSeconds(2)), state.History[^1]);
        Assert.True(state.OwesPayInEffects());
    }

    [Fact]
    public void A_decline_fails_the_order_with_the_psp_s_code_and_not_retryable()
    {
        var time = OrderFixtures.Clock();
        var state = Executing(time);
        var rules = OrderFixtures.Rules(time);
        rules.Charge.BeginAttempt(state);

        rules.Charge.ApplyOutcome(state, PspChargeOutcome.Declined("card_declined", "Your card was declined.", "pi_declined"));

        Assert.Equal(PaymentOrderStatus.Failed, state.Status);
        Assert.Equal(new PaymentFailure("card_declined", "Your card was declined.", Retryable: false), state.Failure);
        Assert.Equal("pi_declined", state.PspReference);
        Assert.Equal(EventTypes.PaymentOrderFailed, Assert.Single(state.OwedEvents).Type);
    }

    [Fact]
    public void Three_d_secure_waits_for_the_buyer_with_its_payment_intent_and_page()
    {
        var time = OrderFixtures.Clock();
        var state = Executing(time);
        var rules = OrderFixtures.Rules(time);
        rules.Charge.BeginAttempt(state);
        time.Advance(TimeSpan.FromSeconds(1));

        var step = rules.Charge.ApplyOutcome(state, PspChargeOutcome.RequiresAction("pi_3ds", "requires_action", "https://psp.example/3ds"));

        Assert.Equal(ChargeStepKind.AwaitingBuyer, step.Kind);
        Assert.Equal(PaymentOrderStatus.RequiresAction, state.Status);
        Assert.Equal("pi_3ds", state.PspReference);
        Assert.Null(state.HostedSessionId);
        Assert.Equal("https://psp.example/3ds", state.ActionUrl);
        Assert.Equal(OrderFixtures.Start.AddSeconds(1), state.ActionRequiredAt);
        Assert.Equal(OrderFixtures.Start.AddSeconds(1), state.PspCheckedAt);
        Assert.Equal(EventTypes.PaymentOrderRequiresAction, Assert.Single(state.OwedEvents).Type);
        Assert.False(state.OwesCheckoutNotice);
    }

    [Fact]
    public void A_hosted_page_is_known_by_its_session_until_a_payment_intent_pays_it()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.NewHostedOrder();
        var rules = OrderFixtures.Rules(time);
        rules.Charge.StartIfNew(state);
        rules.Charge.BeginAttempt(state);

        rules.Charge.ApplyOutcome(state, PspChargeOutcome.RequiresAction("cs_1", "open", "https://psp.example/pay/cs_1"));

        Assert.Equal("cs_1", state.HostedSessionId);
        Assert.Null(state.PspReference);
    }

    [Fact]
    public void An_unknown_outcome_is_retried_with_the_budget_s_delay_and_the_psp_s_floor()
    {
        var time = OrderFixtures.Clock();
        var state = Executing(time);
        var rules = OrderFixtures.Rules(time);
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            rules.Charge.BeginAttempt(state);
        }

        var step = rules.Charge.ApplyOutcome(state, PspChargeOutcome.Unknown("timeout", "The PSP did not answer."));

        Assert.Equal(ChargeStepKind.Retrying, step.Kind);
        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(4)), step.WakeUp);
        Assert.Equal(OrderFixtures.Start.AddSeconds(4), state.NextRetryAt);
        Assert.Equal("The PSP did not answer.", state.LastError);
        Assert.Equal(PaymentOrderStatus.Executing, state.Status);

        rules.Charge.BeginAttempt(state);
        var throttled = rules.Charge.ApplyOutcome(state, PspChargeOutcome.Unknown("rate_limited", null, retryAfter: TimeSpan.FromSeconds(30)));
        Assert.Equal(TimeSpan.FromSeconds(30), throttled.WakeUp!.Value.Delay);
        Assert.Equal("rate_limited", state.LastError);
    }

    [Fact]
    public void The_tenth_unknown_outcome_parks_the_order_at_stage_psp_charge_and_never_fails_it()
    {
        var time = OrderFixtures.Clock();
        var state = Executing(time);
        var rules = OrderFixtures.Rules(time);
        for (var attempt = 1; attempt < 10; attempt++)
        {
            rules.Charge.BeginAttempt(state);
            Assert.Equal(ChargeStepKind.Retrying, rules.Charge.ApplyOutcome(state, PspChargeOutcome.Unknown("timeout", null)).Kind);
        }

        rules.Charge.BeginAttempt(state);
        time.Advance(TimeSpan.FromMinutes(1));
        var step = rules.Charge.ApplyOutcome(state, PspChargeOutcome.Unknown("timeout", null));

        Assert.Equal(ChargeStepKind.Parked, step.Kind);
        Assert.Equal(10, state.Attempts);
        Assert.True(state.DeadLettered);
        Assert.Equal(DeadLetterStore.StagePspCharge, state.DeadLetterStage);
        Assert.Equal(OrderFixtures.Start.AddMinutes(1), state.DeadLetteredAt);
        Assert.Null(state.NextRetryAt);
        Assert.Equal(PaymentOrderStatus.Executing, state.Status);
    }

    [Fact]
    public void After_a_replay_the_charge_has_ten_tries_again_and_backs_off_from_the_start()
    {
        var time = OrderFixtures.Clock();
        var state = Executing(time);
        var rules = OrderFixtures.Rules(time);
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            rules.Charge.BeginAttempt(state);
            rules.Charge.ApplyOutcome(state, PspChargeOutcome.Unknown("timeout", null));
        }

        Assert.Equal(ReplayDecision.Replays, rules.Parking.Replay(state, "replay_1"));
        rules.Charge.BeginAttempt(state);
        var step = rules.Charge.ApplyOutcome(state, PspChargeOutcome.Unknown("timeout", null));

        Assert.Equal(11, state.Attempts);
        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(1)), step.WakeUp);
    }

    [Fact]
    public void A_final_answer_for_a_final_order_is_ignored_and_a_payment_for_a_failed_token_order_is_flagged()
    {
        var time = OrderFixtures.Clock();
        var failed = OrderFixtures.NewTokenOrder();
        failed.Status = PaymentOrderStatus.Failed;
        var hostedFailed = OrderFixtures.NewHostedOrder();
        hostedFailed.Status = PaymentOrderStatus.Failed;
        var charge = OrderFixtures.Rules(time).Charge;

        Assert.Equal(FinishOutcome.PaidWhileFailed, charge.Finish(failed, PspChargeOutcome.Succeeded("pi_x")));
        Assert.Equal(FinishOutcome.Ignored, charge.Finish(failed, PspChargeOutcome.Declined("card_declined", null)));
        Assert.Equal(FinishOutcome.Ignored, charge.Finish(hostedFailed, PspChargeOutcome.Succeeded("pi_x")));
        Assert.Equal(FinishOutcome.Ignored, charge.Finish(OrderFixtures.Paid(), PspChargeOutcome.Succeeded("pi_2")));
        Assert.Equal(PaymentOrderStatus.Failed, failed.Status);
        Assert.Null(failed.PspReference);
    }

    [Fact]
    public void A_webhook_that_the_payment_needs_the_buyer_keeps_the_reference_we_know()
    {
        var time = OrderFixtures.Clock();
        var state = Executing(time);
        state.PspReference = "pi_known";

        OrderFixtures.Rules(time).Charge.MoveToRequiresAction(state, "pi_other");

        Assert.Equal(PaymentOrderStatus.RequiresAction, state.Status);
        Assert.Equal("pi_known", state.PspReference);
        Assert.Equal(OrderFixtures.Start, state.PspCheckedAt);
    }

    [Fact]
    public void History_is_bounded()
    {
        var time = OrderFixtures.Clock();
        var state = Executing(time);
        while (state.History.Count < PaymentOrderState.HistoryLengthMax)
        {
            state.History.Add(new PaymentOrderHistoryEntry(PaymentOrderStatus.Executing, OrderFixtures.Start));
        }

        OrderFixtures.Rules(time).Charge.Transition(state, PaymentOrderStatus.Success);

        Assert.Equal(PaymentOrderState.HistoryLengthMax, state.History.Count);
        Assert.Equal(PaymentOrderStatus.Success, state.Status);
    }

    private static PaymentOrderState Executing(TimeProvider time)
    {
        var state = OrderFixtures.NewTokenOrder();
        OrderFixtures.Rules(time).Charge.StartIfNew(state);
        return state;
    }
}
