using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

public sealed class PaymentOrderParkingTests
{
    [Fact]
    public void Parking_records_the_stage_and_the_time_and_drops_the_pending_retry()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.Paid();
        state.NextRetryAt = OrderFixtures.Start.AddSeconds(5);
        time.Advance(TimeSpan.FromMinutes(7));

        OrderFixtures.Rules(time).Parking.Park(state, DeadLetterStore.StageEffects);

        Assert.True(state.DeadLettered);
        Assert.Equal(DeadLetterStore.StageEffects, state.DeadLetterStage);
        Assert.Equal(OrderFixtures.Start.AddMinutes(7), state.DeadLetteredAt);
        Assert.Null(state.NextRetryAt);
    }

    [Fact]
    public void A_replay_gives_a_fresh_budget_keeping_the_attempts_on_record_and_the_same_request_again_only_says_so()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.Paid();
        var refund = OrderFixtures.PendingRefund();
        refund.Attempts = 10;
        refund.NextRetryAt = OrderFixtures.Start.AddMinutes(5);
        state.Refunds.Add(refund);
        state.Attempts = 4;
        state.EffectFailures = 10;
        var parking = OrderFixtures.Rules(time).Parking;
        parking.Park(state, DeadLetterStore.StagePspRefund);
        time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(ReplayDecision.Replays, parking.Replay(state, "replay_1"));

        Assert.False(state.DeadLettered);
        Assert.Null(state.DeadLetteredAt);
        Assert.Null(state.DeadLetterStage);
        Assert.Equal(4, state.AttemptsAtBudgetStart);
        Assert.Equal(0, state.EffectFailures);
        Assert.Equal(10, refund.AttemptsAtBudgetStart);
        Assert.Equal(10, refund.Attempts);
        Assert.Null(refund.NextRetryAt);
        Assert.Equal("replay_1", state.LastReplayRequest);
        Assert.Equal(OrderFixtures.Start.AddHours(1), state.UpdatedAt);
        Assert.Equal(ReplayDecision.AlreadyReplayed, parking.Replay(state, "replay_1"));
        Assert.Equal(ReplayDecision.NotParked, parking.Replay(state, "replay_2"));
        Assert.Equal(ReplayDecision.NotParked, parking.Replay(new PaymentOrderState(), "replay_1"));
    }

    [Fact]
    public void An_order_parked_before_stages_were_recorded_tells_its_stage_by_its_state()
    {
        var parking = OrderFixtures.Rules(OrderFixtures.Clock()).Parking;
        var charging = OrderFixtures.NewTokenOrder();
        charging.Status = PaymentOrderStatus.Executing;
        var refunding = OrderFixtures.Paid();
        var unanswered = OrderFixtures.PendingRefund();
        unanswered.Attempts = 10;
        refunding.Refunds.Add(unanswered);
        var booking = OrderFixtures.Paid(booked: false);

        Assert.Equal(DeadLetterStore.StagePspCharge, parking.ParkedStage(charging));
        Assert.Equal(DeadLetterStore.StagePspRefund, parking.ParkedStage(refunding));
        Assert.Equal(DeadLetterStore.StageEffects, parking.ParkedStage(booking));
        booking.DeadLetterStage = DeadLetterStore.StagePspCharge;
        Assert.Equal(DeadLetterStore.StagePspCharge, parking.ParkedStage(booking));
    }

    [Fact]
    public void The_dead_letter_row_shows_the_tries_of_what_it_is_parked_for()
    {
        var parking = OrderFixtures.Rules(OrderFixtures.Clock()).Parking;
        var state = OrderFixtures.Paid();
        state.Attempts = 12;
        state.EffectFailures = 3;
        var unanswered = OrderFixtures.PendingRefund("re_1");
        unanswered.Attempts = 11;
        var answered = OrderFixtures.PendingRefund("re_2");
        answered.Attempts = 40;
        answered.PspAnswered = true;
        state.Refunds.AddRange([unanswered, answered]);

        Assert.Equal(12, parking.AttemptsOnRecord(state, DeadLetterStore.StagePspCharge));
        Assert.Equal(11, parking.AttemptsOnRecord(state, DeadLetterStore.StagePspRefund));
        Assert.Equal(3, parking.AttemptsOnRecord(state, DeadLetterStore.StageEffects));
    }
}
