using Microsoft.Extensions.Time.Testing;
using Payments.Core.Payouts;
using Payments.Grains.Payouts;
using Payments.Psp;

namespace Payments.Tests.Unit.Payouts;

public sealed class PayoutLookupsTests
{
    private static readonly TimeSpan PollAfter = TimeSpan.FromHours(1);
    private static readonly TimeSpan ReturnWatch = TimeSpan.FromDays(10);

    private readonly FakeTimeProvider _time = new(PayoutStates.CreatedAt);

    [Fact]
    public void A_payout_in_transit_asks_the_psp_a_tenth_of_the_interval_early_and_until_then_sets_its_timer_for_it()
    {
        var state = PayoutStates.InTransit(_time.GetUtcNow());

        _time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(new PayoutLookup.NotYet(TimeSpan.FromMinutes(24)), PayoutLookups.Next(state, _time.GetUtcNow(), PollAfter));
        _time.Advance(TimeSpan.FromMinutes(24) - TimeSpan.FromSeconds(1));
        Assert.Equal(new PayoutLookup.NotYet(TimeSpan.FromSeconds(1)), PayoutLookups.Next(state, _time.GetUtcNow(), PollAfter));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(new PayoutLookup.AskNow("po_sim_1"), PayoutLookups.Next(state, _time.GetUtcNow(), PollAfter));
    }

    [Fact]
    public void A_payout_in_transit_without_a_psp_id_waits_a_whole_interval_once_due_instead_of_firing_at_once()
    {
        var state = PayoutStates.InTransit(_time.GetUtcNow());
        state.PspPayoutId = null;

        _time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(new PayoutLookup.NotYet(TimeSpan.FromMinutes(24)), PayoutLookups.Next(state, _time.GetUtcNow(), PollAfter));
        _time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(new PayoutLookup.NotYet(PollAfter), PayoutLookups.Next(state, _time.GetUtcNow(), PollAfter));
    }

    [Fact]
    public void A_payout_never_checked_counts_from_its_last_update()
    {
        var state = PayoutStates.InTransit(_time.GetUtcNow());
        state.PspCheckedAt = null;
        state.UpdatedAt = _time.GetUtcNow().AddMinutes(10);

        Assert.Equal(new PayoutLookup.NotYet(TimeSpan.FromMinutes(64)), PayoutLookups.Next(state, _time.GetUtcNow(), PollAfter));
    }

    [Fact]
    public void A_watched_paid_payout_sets_no_timer_its_reminder_wakes_it()
    {
        var state = PayoutStates.Paid(_time.GetUtcNow());
        _time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(new PayoutLookup.NotYet(null), PayoutLookups.Next(state, _time.GetUtcNow(), PollAfter));
        _time.Advance(TimeSpan.FromMinutes(44));
        Assert.Equal(new PayoutLookup.AskNow("po_sim_1"), PayoutLookups.Next(state, _time.GetUtcNow(), PollAfter));
    }

    [Fact]
    public void A_paid_payout_is_watched_for_a_return_until_the_watch_ends_after_it_was_first_paid()
    {
        var paidAt = _time.GetUtcNow();
        var state = PayoutStates.Paid(paidAt);

        _time.Advance(ReturnWatch - TimeSpan.FromSeconds(1));
        Assert.True(PayoutLookups.InReturnWatch(state, _time.GetUtcNow(), ReturnWatch));
        Assert.True(PayoutLookups.IsWatched(state, _time.GetUtcNow(), ReturnWatch));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(PayoutLookups.InReturnWatch(state, _time.GetUtcNow(), ReturnWatch));
        Assert.False(PayoutLookups.IsWatched(state, _time.GetUtcNow(), ReturnWatch));
    }

    [Theory]
    [InlineData(PayoutStatus.Pending, false)]
    [InlineData(PayoutStatus.InTransit, true)]
    [InlineData(PayoutStatus.Failed, false)]
    [InlineData(PayoutStatus.Paid, true)]
    public void Only_a_payout_in_transit_or_paid_and_watched_is_looked_up(PayoutStatus status, bool watched)
    {
        // Every case keeps the history of a paid payout: only the status decides whether it is in its return watch.
        var state = PayoutStates.Paid(_time.GetUtcNow());
        state.Status = status;

        Assert.Equal(watched, PayoutLookups.IsWatched(state, _time.GetUtcNow(), ReturnWatch));
        Assert.Equal(status == PayoutStatus.Paid, PayoutLookups.InReturnWatch(state, _time.GetUtcNow(), ReturnWatch));
    }

    [Fact]
    public void A_paid_payout_whose_history_lost_its_paid_entry_is_not_watched()
    {
        var state = PayoutStates.Paid(_time.GetUtcNow());
        state.History.RemoveAll(entry => entry.Status == PayoutStatus.Paid);

        Assert.False(PayoutLookups.InReturnWatch(state, _time.GetUtcNow(), ReturnWatch));
    }

    [Fact]
    public void A_lookup_that_says_nothing_final_leaves_a_payout_in_transit_to_ask_again_after_the_interval()
    {
        var state = PayoutStates.InTransit(_time.GetUtcNow());
        _time.Advance(TimeSpan.FromHours(1));
        PayoutLookups.Asked(state, _time.GetUtcNow());
        var checkedAt = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromMilliseconds(5));

        var answered = PayoutLookups.Answered(state, PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.InTransit, "po_sim_1", null, null), _time.GetUtcNow(), PollAfter);

        Assert.Equal(new PayoutLookupAnswered(null, PollAfter), answered);
        Assert.Equal(PayoutStatus.InTransit, state.Status);
        Assert.Equal(checkedAt, state.PspCheckedAt);
        Assert.Equal(checkedAt, state.UpdatedAt);
    }

    [Fact]
    public void A_lookup_that_says_nothing_final_of_a_watched_paid_payout_sets_no_timer()
    {
        var state = PayoutStates.Paid(_time.GetUtcNow());
        PayoutLookups.Asked(state, _time.GetUtcNow());

        var answered = PayoutLookups.Answered(state, PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.Paid, "po_sim_1", null, null), _time.GetUtcNow(), PollAfter);

        Assert.Equal(new PayoutLookupAnswered(null, null), answered);
        Assert.Equal(PayoutStatus.Paid, state.Status);
    }

    [Fact]
    public void A_lookup_that_finds_the_payout_returned_moves_it_and_stops_asking()
    {
        var state = PayoutStates.Paid(PayoutStates.CreatedAt);
        _time.Advance(TimeSpan.FromDays(2));
        PayoutLookups.Asked(state, _time.GetUtcNow());
        _time.Advance(TimeSpan.FromMilliseconds(20));

        var answered = PayoutLookups.Answered(
            state, PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.Failed, "po_sim_1", "account_closed", "closed"), _time.GetUtcNow(), PollAfter);

        Assert.Equal(new PayoutLookupAnswered(new PayoutTransition(PayoutStatus.Paid, PayoutStatus.Failed), null), answered);
        Assert.True(state.ReturnedAfterPaid);
        Assert.Equal(_time.GetUtcNow(), state.PspCheckedAt);
        Assert.Equal(_time.GetUtcNow(), state.UpdatedAt);
    }
}
