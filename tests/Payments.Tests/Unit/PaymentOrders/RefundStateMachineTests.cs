using Payments.Core.Events;
using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Grains.PaymentOrders;
using Payments.Psp;

namespace Payments.Tests.Unit.PaymentOrders;

public sealed class RefundStateMachineTests
{
    [Fact]
    public void A_refund_without_an_amount_takes_what_remains_and_is_reserved_before_the_psp_hears_of_it()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.Paid();
        state.Refunds.Add(OrderFixtures.PendingRefund("re_0", 2_000));
        time.Advance(TimeSpan.FromMinutes(1));

        var request = OrderFixtures.Rules(time).Refunds.Request(state, new CreateRefund("re_1", AmountMinor: null, "requested_by_customer"));

        Assert.Equal(CreateRefundOutcome.Created, request.Outcome);
        Assert.Equal(10_345, request.Refund!.AmountMinor);
        Assert.Equal(0, request.RemainingMinor);
        Assert.Equal(RefundStatus.Pending, request.Refund.Status);
        Assert.Single(state.Refunds);

        RefundStateMachine.Reserve(state, request.Refund);
        Assert.Equal(2, state.Refunds.Count);
        Assert.Equal(OrderFixtures.Start.AddMinutes(1), state.UpdatedAt);
        Assert.Equal(CreateRefundOutcome.ExceedsPayment, OrderFixtures.Rules(time).Refunds.Request(state, new CreateRefund("re_2", 1, null)).Outcome);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(OrderFixtures.AmountMinor + 1)]
    public void More_than_remains_or_nothing_is_refused(long amountMinor)
    {
        var request = OrderFixtures.Rules(OrderFixtures.Clock()).Refunds.Request(OrderFixtures.Paid(), new CreateRefund("re_1", amountMinor, null));

        Assert.Equal(CreateRefundOutcome.ExceedsPayment, request.Outcome);
        Assert.Null(request.Refund);
        Assert.Equal(OrderFixtures.AmountMinor, request.RemainingMinor);
    }

    [Fact]
    public void A_failed_refund_gives_its_amount_back_to_what_remains()
    {
        var state = OrderFixtures.Paid();
        var failed = OrderFixtures.PendingRefund("re_0", 5_000);
        failed.Status = RefundStatus.Failed;
        state.Refunds.Add(failed);

        var request = OrderFixtures.Rules(OrderFixtures.Clock()).Refunds.Request(state, new CreateRefund("re_1", OrderFixtures.AmountMinor, null));

        Assert.Equal(CreateRefundOutcome.Created, request.Outcome);
    }

    [Fact]
    public void The_same_refund_asked_again_under_its_id_or_its_legacy_id_is_the_refund_it_was()
    {
        var state = OrderFixtures.Paid();
        state.Refunds.Add(OrderFixtures.PendingRefund("re_legacy", 2_000));
        var refunds = OrderFixtures.Rules(OrderFixtures.Clock()).Refunds;

        var again = refunds.Request(state, new CreateRefund("re_new", 2_000, null, LegacyRefundId: "re_legacy"));

        Assert.Equal(CreateRefundOutcome.AlreadyExists, again.Outcome);
        Assert.Same(state.Refunds[0], again.Refund);
        Assert.Equal(10_345, again.RemainingMinor);
    }

    [Fact]
    public void An_order_not_paid_parked_or_with_too_many_refunds_is_not_refundable()
    {
        var refunds = OrderFixtures.Rules(OrderFixtures.Clock(), new PaymentOrderOptions { RefundsMax = 1 }).Refunds;
        var unpaid = OrderFixtures.NewTokenOrder();
        var parked = OrderFixtures.Paid();
        parked.DeadLettered = true;
        var full = OrderFixtures.Paid();
        full.Refunds.Add(OrderFixtures.PendingRefund("re_0", 1));

        Assert.Equal(CreateRefundOutcome.NotRefundable, refunds.Request(unpaid, new CreateRefund("re_1", 100, null)).Outcome);
        Assert.Equal(CreateRefundOutcome.NotRefundable, refunds.Request(parked, new CreateRefund("re_1", 100, null)).Outcome);
        Assert.Equal(CreateRefundOutcome.NotRefundable, refunds.Request(full, new CreateRefund("re_1", 100, null)).Outcome);
        Assert.Equal(CreateRefundOutcome.NotRefundable, refunds.Request(new PaymentOrderState(), new CreateRefund("re_1", 100, null)).Outcome);
    }

    [Fact]
    public void A_refund_is_created_with_its_key_until_the_psp_answers_and_then_only_looked_up()
    {
        var time = OrderFixtures.Clock();
        var (state, refund) = PaidWithPendingRefund();
        var refunds = OrderFixtures.Rules(time).Refunds;

        var create = refunds.BeginAttempt(state, refund)!;
        Assert.Equal(new PspRefundRequest("re_1", OrderFixtures.PaymentOrderId, "pi_1", 2_000, "USD", "requested_by_customer"), create.Create);
        Assert.Null(create.SearchCharge);
        Assert.Null(create.LookUpPspRefundId);
        Assert.Equal(1, refund.Attempts);

        refunds.ApplyOutcome(state, refund, new PspRefundOutcome(PspRefundStatus.Pending, "pre_1", null, null));
        var lookUp = refunds.BeginAttempt(state, refund)!;

        Assert.Equal("pre_1", lookUp.LookUpPspRefundId);
        Assert.Equal(2, refund.Attempts);
    }

    [Fact]
    public void Past_the_idempotency_window_an_unanswered_refund_is_searched_for_on_its_charge_first()
    {
        var time = OrderFixtures.Clock();
        var (state, refund) = PaidWithPendingRefund();
        time.Advance(TimeSpan.FromHours(23) + TimeSpan.FromSeconds(1));

        var call = OrderFixtures.Rules(time).Refunds.BeginAttempt(state, refund)!;

        Assert.Equal("pi_1", call.SearchCharge);
    }

    [Fact]
    public void A_pending_answer_is_looked_up_again_after_the_poll_interval_without_keeping_the_activation()
    {
        var time = OrderFixtures.Clock();
        var (state, refund) = PaidWithPendingRefund();
        var refunds = OrderFixtures.Rules(time).Refunds;
        refunds.BeginAttempt(state, refund);
        time.Advance(TimeSpan.FromSeconds(2));

        var next = refunds.ApplyOutcome(state, refund, new PspRefundOutcome(PspRefundStatus.Pending, "pre_1", null, null));

        Assert.Equal(WakeUp.Poll(TimeSpan.FromMinutes(1)), next);
        Assert.Equal(OrderFixtures.Start.AddSeconds(62), refund.NextRetryAt);
        Assert.True(refund.PspAnswered);
        Assert.Equal("pre_1", refund.PspRefundId);
        Assert.Equal(OrderFixtures.Start.AddSeconds(2), state.UpdatedAt);
    }

    [Fact]
    public void An_unknown_answer_is_asked_again_with_the_budget_s_delay_counted_since_the_budget_began()
    {
        var time = OrderFixtures.Clock();
        var (state, refund) = PaidWithPendingRefund();
        refund.Attempts = 12;
        refund.AttemptsAtBudgetStart = 10;
        var refunds = OrderFixtures.Rules(time).Refunds;
        refunds.BeginAttempt(state, refund);

        var next = refunds.ApplyOutcome(state, refund, new PspRefundOutcome(PspRefundStatus.Unknown, null, "timeout", "No answer."));

        Assert.Equal(13, refund.Attempts);
        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(4)), next);
        Assert.Equal(OrderFixtures.Start.AddSeconds(4), refund.NextRetryAt);
        Assert.False(refund.PspAnswered);
    }

    [Fact]
    public void A_refund_unanswered_after_ten_tries_parks_the_order_at_stage_psp_refund_before_an_eleventh()
    {
        var time = OrderFixtures.Clock();
        var (state, refund) = PaidWithPendingRefund();
        var refunds = OrderFixtures.Rules(time).Refunds;
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            Assert.NotNull(refunds.BeginAttempt(state, refund));
            refunds.ApplyOutcome(state, refund, new PspRefundOutcome(PspRefundStatus.Unknown, null, "timeout", null));
        }

        var call = refunds.BeginAttempt(state, refund);

        Assert.Null(call);
        Assert.Equal(10, refund.Attempts);
        Assert.True(state.DeadLettered);
        Assert.Equal(DeadLetterStore.StagePspRefund, state.DeadLetterStage);
        Assert.Equal("refund re_1: no answer from the PSP after 10 attempts", state.LastError);
    }

    [Fact]
    public void A_success_counts_as_refunded_and_owes_its_booking_from_pending_or_from_available_once_fulfilled()
    {
        var time = OrderFixtures.Clock();
        var (state, refund) = PaidWithPendingRefund();
        var (fulfilled, fulfilledRefund) = PaidWithPendingRefund();
        fulfilled.FulfilledAt = OrderFixtures.Start;
        var refunds = OrderFixtures.Rules(time).Refunds;

        Assert.Null(refunds.ApplyOutcome(state, refund, new PspRefundOutcome(PspRefundStatus.Succeeded, "pre_1", null, null)));
        refunds.ApplyOutcome(fulfilled, fulfilledRefund, new PspRefundOutcome(PspRefundStatus.Succeeded, "pre_1", null, null));

        Assert.Equal(RefundStatus.Succeeded, refund.Status);
        Assert.Equal(2_000, state.RefundedMinor);
        Assert.False(refund.FromAvailable);
        Assert.True(fulfilledRefund.FromAvailable);
        Assert.True(refund.OwesEffects);
        var owed = Assert.Single(state.OwedEvents);
        Assert.Equal(EventTypes.RefundSucceeded, owed.Type);
        Assert.Equal("re_1", owed.SubjectId);
    }

    [Fact]
    public void A_refund_the_psp_fails_after_it_succeeded_is_reversed_into_where_the_money_is_now()
    {
        var time = OrderFixtures.Clock();
        var (state, refund) = PaidWithPendingRefund();
        var refunds = OrderFixtures.Rules(time).Refunds;
        refunds.Finish(state, "re_1", succeeded: true, failureCode: null, pspRefundId: "pre_1");
        state.FulfilledAt = OrderFixtures.Start.AddDays(1);

        var bounced = refunds.Finish(state, "re_1", succeeded: false, "expired_or_canceled_card");

        Assert.Equal(RefundFinish.FailedAfterSuccess, bounced);
        Assert.Equal(RefundStatus.Failed, refund.Status);
        Assert.True(refund.FailedAfterSuccess);
        Assert.True(refund.ReversalToAvailable);
        Assert.False(refund.FromAvailable);
        Assert.Equal(0, state.RefundedMinor);
        Assert.Equal("pre_1", refund.PspRefundId);
        Assert.Equal([EventTypes.RefundSucceeded, EventTypes.RefundFailed], state.OwedEvents.Select(owed => owed.Type));
        Assert.Equal(RefundFinish.Ignored, refunds.Finish(state, "re_1", succeeded: false, "again"));
        Assert.Equal(RefundFinish.Ignored, refunds.Finish(state, "re_unknown", succeeded: true, null));
    }

    private static (PaymentOrderState State, RefundState Refund) PaidWithPendingRefund()
    {
        var state = OrderFixtures.Paid();
        var refund = OrderFixtures.PendingRefund();
        state.Refunds.Add(refund);
        return (state, refund);
    }
}
