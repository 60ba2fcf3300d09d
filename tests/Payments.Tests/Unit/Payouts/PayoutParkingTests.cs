using Microsoft.Extensions.Time.Testing;
using Payments.Grains.DeadLetters;
using Payments.Grains.Payouts;

namespace Payments.Tests.Unit.Payouts;

public sealed class PayoutParkingTests
{
    private readonly FakeTimeProvider _time = new(PayoutStates.CreatedAt);

    [Fact]
    public void Un_parking_clears_the_dead_letter_and_starts_a_fresh_budget()
    {
        var state = Parked(DeadLetterStore.StagePspPayout);

        PayoutParking.Unpark(state);

        Assert.False(state.DeadLettered);
        Assert.Null(state.DeadLetteredAt);
        Assert.Null(state.DeadLetterStage);
        Assert.Null(state.NextRetryAt);
        Assert.Equal(10, state.Attempts);
        Assert.Equal(10, state.AttemptsAtBudgetStart);
        Assert.Equal(0, state.EffectFailures);
    }

    [Theory]
    [InlineData("psp_payout", true)]
    [InlineData("effects", false)]
    [InlineData(null, false)]
    public void Only_a_payout_parked_for_want_of_the_psps_answer_is_ended_by_that_answer(string? stage, bool ended) =>
        Assert.Equal(ended, PayoutParking.EndedByPspAnswer(stage is null ? PayoutStates.Reserved() : Parked(stage)));

    [Fact]
    public void A_replay_un_parks_and_remembers_its_request_so_that_it_is_answered_replayed_again()
    {
        var state = Parked(DeadLetterStore.StageEffects);
        _time.Advance(TimeSpan.FromHours(2));

        PayoutParking.Replay(state, "request_9", _time.GetUtcNow());

        Assert.False(state.DeadLettered);
        Assert.Equal("request_9", state.LastReplayRequest);
        Assert.Equal(_time.GetUtcNow(), state.UpdatedAt);
        Assert.True(PayoutParking.IsRepeatOfLastReplay(state, "request_9"));
        Assert.False(PayoutParking.IsRepeatOfLastReplay(state, "request_10"));
        Assert.False(PayoutParking.IsRepeatOfLastReplay(state, null));
        Assert.False(PayoutParking.IsRepeatOfLastReplay(new PayoutState { LastReplayRequest = "request_9" }, "request_9"));
    }

    [Fact]
    public void The_row_of_a_payout_parked_at_the_psp_counts_its_attempts_and_says_when_it_was_parked()
    {
        var state = Parked(DeadLetterStore.StagePspPayout);

        Assert.Equal(new PayoutDeadLetterRow("psp_payout", 10, "timeout", PayoutStates.CreatedAt.AddMinutes(30)), PayoutParking.Row(state));
    }

    [Fact]
    public void The_row_of_a_payout_parked_for_its_moves_counts_their_failures()
    {
        var state = Parked(DeadLetterStore.StageEffects);

        Assert.Equal(new PayoutDeadLetterRow("effects", 4, "timeout", PayoutStates.CreatedAt.AddMinutes(30)), PayoutParking.Row(state));
    }

    [Fact]
    public void A_row_written_with_nothing_on_record_falls_back_to_the_psp_stage_its_update_time_and_unknown()
    {
        var state = PayoutStates.Reserved();
        state.Attempts = 2;
        state.UpdatedAt = PayoutStates.CreatedAt.AddMinutes(7);

        Assert.Equal(new PayoutDeadLetterRow("psp_payout", 2, "unknown", PayoutStates.CreatedAt.AddMinutes(7)), PayoutParking.Row(state));
    }

    private static PayoutState Parked(string stage)
    {
        var state = PayoutStates.Reserved();
        state.Attempts = 10;
        state.EffectFailures = 4;
        state.LastError = "timeout";
        state.NextRetryAt = PayoutStates.CreatedAt.AddMinutes(31);
        PayoutParking.Park(state, stage, PayoutStates.CreatedAt.AddMinutes(30));
        return state;
    }
}
