using Microsoft.Extensions.Time.Testing;
using Payments.Grains.DeadLetters;
using Payments.Grains.Payouts;
using Payments.Psp;

namespace Payments.Tests.Unit.Payouts;

public sealed class PayoutRetryBudgetTests
{
    private static readonly PspPayoutOutcome Timeout = new(PspPayoutStatus.Unknown, null, "timeout", "The PSP did not answer in 10 s.");

    private readonly FakeTimeProvider _time = new(PayoutStates.CreatedAt);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 4)]
    [InlineData(9, 256)]
    public void An_unknown_outcome_within_the_budget_waits_at_most_the_doubling_ceiling_and_sets_the_next_attempt(int attempts, int ceilingSeconds)
    {
        var state = PayoutStates.Reserved();
        state.Attempts = attempts;

        var decision = PayoutRetryBudget.AfterUnknownPspOutcome(state, Timeout, PayoutStates.Retry(), new HighestJitter(), _time.GetUtcNow());

        Assert.Equal(new RetryDecision.RetryAfter(TimeSpan.FromSeconds(ceilingSeconds)), decision);
        Assert.Equal(_time.GetUtcNow().AddSeconds(ceilingSeconds), state.NextRetryAt);
        Assert.Equal("The PSP did not answer in 10 s.", state.LastError);
        Assert.False(state.DeadLettered);
    }

    [Fact]
    public void The_delay_is_capped_at_delay_max()
    {
        var state = PayoutStates.Reserved();
        state.Attempts = 12;

        var decision = PayoutRetryBudget.AfterUnknownPspOutcome(state, Timeout, PayoutStates.Retry(attemptsMax: 20), new HighestJitter(), _time.GetUtcNow());

        Assert.Equal(new RetryDecision.RetryAfter(TimeSpan.FromMinutes(5)), decision);
    }

    [Fact]
    public void The_psps_retry_after_is_a_floor_under_the_jitter()
    {
        var state = PayoutStates.Reserved();
        state.Attempts = 1;
        var busy = new PspPayoutOutcome(PspPayoutStatus.Unknown, null, "rate_limited", null, RetryAfter: TimeSpan.FromSeconds(30));

        var decision = PayoutRetryBudget.AfterUnknownPspOutcome(state, busy, PayoutStates.Retry(), new LowestJitter(), _time.GetUtcNow());

        Assert.Equal(new RetryDecision.RetryAfter(TimeSpan.FromSeconds(30)), decision);
        Assert.Equal(_time.GetUtcNow().AddSeconds(30), state.NextRetryAt);
        Assert.Equal("rate_limited", state.LastError);
    }

    [Fact]
    public void An_unknown_outcome_with_nothing_said_is_recorded_as_unknown()
    {
        var state = PayoutStates.Reserved();
        state.Attempts = 1;

        PayoutRetryBudget.AfterUnknownPspOutcome(state, new PspPayoutOutcome(PspPayoutStatus.Unknown, null, null, null), PayoutStates.Retry(), new LowestJitter(), _time.GetUtcNow());

        Assert.Equal("unknown PSP outcome", state.LastError);
    }

    [Fact]
    public void The_attempt_that_spends_the_budget_parks_the_payout_at_the_psp_stage()
    {
        var state = PayoutStates.Reserved();
        state.Attempts = 10;
        state.NextRetryAt = PayoutStates.CreatedAt;
        _time.Advance(TimeSpan.FromMinutes(20));

        var decision = PayoutRetryBudget.AfterUnknownPspOutcome(state, Timeout, PayoutStates.Retry(), new HighestJitter(), _time.GetUtcNow());

        Assert.IsType<RetryDecision.Parked>(decision);
        Assert.True(state.DeadLettered);
        Assert.Equal(DeadLetterStore.StagePspPayout, state.DeadLetterStage);
        Assert.Equal(_time.GetUtcNow(), state.DeadLetteredAt);
        Assert.Null(state.NextRetryAt);
        Assert.Equal(10, state.Attempts);
    }

    [Fact]
    public void A_renewed_budget_counts_only_the_attempts_since_and_keeps_those_before_on_record()
    {
        var state = PayoutStates.Reserved();
        state.Attempts = 10;
        state.EffectFailures = 4;
        PayoutRetryBudget.Renew(state);
        state.Attempts = 13;

        var decision = PayoutRetryBudget.AfterUnknownPspOutcome(state, Timeout, PayoutStates.Retry(), new HighestJitter(), _time.GetUtcNow());

        Assert.Equal(10, state.AttemptsAtBudgetStart);
        Assert.Equal(0, state.EffectFailures);
        Assert.Equal(3, PayoutRetryBudget.PspAttemptsSpent(state));
        Assert.Equal(new RetryDecision.RetryAfter(TimeSpan.FromSeconds(4)), decision);
    }

    [Fact]
    public void A_failed_round_of_moves_is_counted_and_retried_after_the_ceiling_of_its_count()
    {
        var state = PayoutStates.Reserved();
        state.EffectFailures = 2;

        var decision = PayoutRetryBudget.AfterEffectsFailed(state, new InvalidOperationException("ledger down"), PayoutStates.Retry(), new HighestJitter(), _time.GetUtcNow());

        Assert.Equal(new RetryDecision.RetryAfter(TimeSpan.FromSeconds(4)), decision);
        Assert.Equal(3, state.EffectFailures);
        Assert.Equal("InvalidOperationException: ledger down", state.LastError);
        Assert.False(state.DeadLettered);
        Assert.Null(state.NextRetryAt);
    }

    [Fact]
    public void The_failed_round_that_spends_the_budget_parks_the_payout_at_the_effects_stage()
    {
        var state = PayoutStates.Reserved();
        state.EffectFailures = 9;
        _time.Advance(TimeSpan.FromHours(1));

        var decision = PayoutRetryBudget.AfterEffectsFailed(state, new TimeoutException("wallet"), PayoutStates.Retry(), new HighestJitter(), _time.GetUtcNow());

        Assert.IsType<RetryDecision.Parked>(decision);
        Assert.Equal(10, state.EffectFailures);
        Assert.Equal(DeadLetterStore.StageEffects, state.DeadLetterStage);
        Assert.Equal(_time.GetUtcNow(), state.DeadLetteredAt);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 8)]
    [InlineData(30, 300)]
    public void Owed_events_are_written_again_backing_off_without_a_budget(int failuresInARow, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), PayoutRetryBudget.EventWriteDelay(failuresInARow, PayoutStates.Retry(), new HighestJitter()));

    [Fact]
    public void Attempts_that_stay_unknown_are_spaced_by_the_backoff_until_the_third_parks_the_payout()
    {
        var retry = PayoutStates.Retry(attemptsMax: 3);
        var state = PayoutStates.Reserved();
        var attemptTimes = new List<DateTimeOffset>();
        RetryDecision decision;
        do
        {
            Assert.Null(PayoutPspAttempt.WaitBeforeNext(state, _time.GetUtcNow()));
            PayoutPspAttempt.Begin(state, _time.GetUtcNow(), TimeSpan.FromHours(23));
            attemptTimes.Add(_time.GetUtcNow());
            decision = PayoutRetryBudget.AfterUnknownPspOutcome(state, Timeout, retry, new HighestJitter(), _time.GetUtcNow());
            if (decision is RetryDecision.RetryAfter { Delay: var delay })
            {
                _time.Advance(delay - TimeSpan.FromMilliseconds(1));
                Assert.Equal(TimeSpan.FromMilliseconds(1), PayoutPspAttempt.WaitBeforeNext(state, _time.GetUtcNow()));
                _time.Advance(TimeSpan.FromMilliseconds(1));
            }
        }
        while (decision is RetryDecision.RetryAfter);

        var start = PayoutStates.CreatedAt;
        Assert.Equal([start, start.AddSeconds(1), start.AddSeconds(3)], attemptTimes);
        Assert.Equal(3, state.Attempts);
        Assert.True(state.DeadLettered);
        Assert.Equal(start.AddSeconds(3), state.DeadLetteredAt);
        Assert.Null(PayoutPspAttempt.WaitBeforeNext(state, _time.GetUtcNow()));
    }
}
