using Microsoft.Extensions.Time.Testing;
using Payments.Grains.Payouts;
using Payments.Psp;

namespace Payments.Tests.Unit.Payouts;

public sealed class PayoutPspAttemptTests
{
    private static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(23);

    private readonly FakeTimeProvider _time = new(PayoutStates.CreatedAt);

    [Fact]
    public void The_psp_is_asked_with_the_payout_id_as_key_for_the_reserved_amount_to_the_destination() =>
        Assert.Equal(
            new PspPayoutRequest("pay_1", "seller_1", 12_345, "USD", "ba_sim_ok"),
            PayoutPspAttempt.Request(PayoutStates.PayoutId, PayoutStates.Reserved(12_345)));

    [Fact]
    public void The_first_attempt_is_recorded_before_the_psp_hears_of_it_and_creates_without_a_search()
    {
        var state = PayoutStates.Reserved();
        state.NextRetryAt = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(2));

        var search = PayoutPspAttempt.Begin(state, _time.GetUtcNow(), IdempotencyWindow);

        Assert.Null(search);
        Assert.Equal(1, state.Attempts);
        Assert.Equal(_time.GetUtcNow(), state.FirstAttemptAt);
        Assert.Equal(_time.GetUtcNow(), state.LastAttemptAt);
        Assert.Equal(_time.GetUtcNow(), state.UpdatedAt);
        Assert.Null(state.NextRetryAt);
    }

    [Fact]
    public void An_attempt_within_the_idempotency_window_trusts_the_key_and_keeps_the_first_attempts_time()
    {
        var state = PayoutStates.Reserved();
        var first = _time.GetUtcNow();
        PayoutPspAttempt.Begin(state, first, IdempotencyWindow);
        _time.Advance(IdempotencyWindow);

        var search = PayoutPspAttempt.Begin(state, _time.GetUtcNow(), IdempotencyWindow);

        Assert.Null(search);
        Assert.Equal(2, state.Attempts);
        Assert.Equal(first, state.FirstAttemptAt);
        Assert.Equal(_time.GetUtcNow(), state.LastAttemptAt);
    }

    [Fact]
    public void An_attempt_past_the_window_searches_from_the_first_attempt_to_the_last_one_before_it_with_an_hours_margin()
    {
        var state = PayoutStates.Reserved();
        var first = _time.GetUtcNow();
        PayoutPspAttempt.Begin(state, first, IdempotencyWindow);
        _time.Advance(TimeSpan.FromHours(22));
        var previous = _time.GetUtcNow();
        PayoutPspAttempt.Begin(state, previous, IdempotencyWindow);
        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));

        var search = PayoutPspAttempt.Begin(state, _time.GetUtcNow(), IdempotencyWindow);

        Assert.Equal(new PayoutSearchWindow(first.AddHours(-1), previous.AddHours(1)), search);
        Assert.Equal(3, state.Attempts);
        Assert.Equal(_time.GetUtcNow(), state.LastAttemptAt);
    }

    [Fact]
    public void With_no_window_every_attempt_after_the_first_searches_first()
    {
        var state = PayoutStates.Reserved();
        Assert.Null(PayoutPspAttempt.Begin(state, _time.GetUtcNow(), TimeSpan.Zero));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(
            new PayoutSearchWindow(PayoutStates.CreatedAt.AddHours(-1), PayoutStates.CreatedAt.AddHours(1)),
            PayoutPspAttempt.Begin(state, _time.GetUtcNow(), TimeSpan.Zero));
    }

    [Fact]
    public void A_pending_payout_waits_exactly_until_its_next_attempt_is_due()
    {
        var state = PayoutStates.Reserved();
        Assert.Null(PayoutPspAttempt.WaitBeforeNext(state, _time.GetUtcNow()));

        state.NextRetryAt = _time.GetUtcNow().AddSeconds(8);
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(5), PayoutPspAttempt.WaitBeforeNext(state, _time.GetUtcNow()));

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Null(PayoutPspAttempt.WaitBeforeNext(state, _time.GetUtcNow()));
    }
}
