using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Payments.Core.Events;
using Payments.Core.Payouts;
using Payments.Grains.Payouts;
using Payments.Psp;

namespace Payments.Tests.Unit.Payouts;

public sealed class PayoutStateMachineTests
{
    private readonly FakeTimeProvider _time = new(PayoutStates.CreatedAt);

    [Fact]
    public void The_psp_accepting_a_pending_payout_puts_it_in_transit_with_its_psp_id_and_arrival_date_and_owes_no_event()
    {
        var state = PayoutStates.Reserved();
        state.NextRetryAt = PayoutStates.CreatedAt.AddSeconds(4);
        state.LastError = "timeout";
        _time.Advance(TimeSpan.FromSeconds(5));
        var arrival = new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

        var transition = PayoutStateMachine.Apply(state, PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.InTransit, "po_sim_1", null, null, arrival), _time.GetUtcNow());

        Assert.Equal(new PayoutTransition(PayoutStatus.Pending, PayoutStatus.InTransit), transition);
        Assert.Null(transition?.FinishedOutcome);
        Assert.Equal(PayoutStatus.InTransit, state.Status);
        Assert.Equal("po_sim_1", state.PspPayoutId);
        Assert.Equal(arrival, state.ArrivalDate);
        Assert.Equal(_time.GetUtcNow(), state.PspCheckedAt);
        Assert.Equal(_time.GetUtcNow(), state.UpdatedAt);
        Assert.Null(state.NextRetryAt);
        Assert.Null(state.LastError);
        Assert.Null(state.Failure);
        Assert.Equal(
            [new PayoutHistoryEntry(PayoutStatus.Pending, PayoutStates.CreatedAt), new PayoutHistoryEntry(PayoutStatus.InTransit, _time.GetUtcNow())],
            state.History);
        Assert.Empty(state.OwedEvents);
    }

    [Fact]
    public void A_paid_answer_owes_one_payout_paid_event_and_keeps_the_first_psp_id_and_arrival_date()
    {
        var state = PayoutStates.InTransit(PayoutStates.CreatedAt);
        state.ArrivalDate = PayoutStates.CreatedAt.AddDays(2);
        _time.Advance(TimeSpan.FromHours(3));

        var transition = PayoutStateMachine.Apply(state, PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.Paid, "po_sim_other", null, null), _time.GetUtcNow());

        Assert.Equal("paid", transition?.FinishedOutcome);
        Assert.Equal(PayoutStatus.Paid, state.Status);
        Assert.Equal("po_sim_1", state.PspPayoutId);
        Assert.Equal(PayoutStates.CreatedAt.AddDays(2), state.ArrivalDate);
        var owed = Assert.Single(state.OwedEvents);
        Assert.Equal(EventTypes.PayoutPaid, owed.Type);
        Assert.Equal(PayoutStates.PayoutId, owed.OrderingKey);
        Assert.Equal(_time.GetUtcNow(), owed.CreatedAt);
        Assert.StartsWith("evt_", owed.EventId, StringComparison.Ordinal);
        Assert.Null(owed.Data);
    }

    [Fact]
    public void A_failure_after_paid_is_a_return_with_the_psp_code_and_a_payout_failed_event_after_the_paid_one()
    {
        var state = PayoutStates.Paid(PayoutStates.CreatedAt);
        state.OwedEvents.Add(Grains.Events.OwedEvent.For(EventTypes.PayoutPaid, PayoutStates.PayoutId, PayoutStates.CreatedAt));
        _time.Advance(TimeSpan.FromDays(3));

        var transition = PayoutStateMachine.Apply(
            state, PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.Failed, "po_sim_1", "account_closed", "The account is closed."), _time.GetUtcNow());

        Assert.Equal(new PayoutTransition(PayoutStatus.Paid, PayoutStatus.Failed), transition);
        Assert.Equal("returned", transition?.FinishedOutcome);
        Assert.True(state.ReturnedAfterPaid);
        Assert.True(state.WasPaid);
        Assert.Equal(new PayoutFailure("account_closed", "The account is closed."), state.Failure);
        Assert.Equal([EventTypes.PayoutPaid, EventTypes.PayoutFailed], state.OwedEvents.Select(owed => owed.Type));
    }

    [Fact]
    public void A_failure_without_a_code_before_paid_is_a_plain_failure_with_the_default_code_and_message()
    {
        var state = PayoutStates.Reserved();

        var transition = PayoutStateMachine.Apply(state, PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.Failed, null, null, null), _time.GetUtcNow());

        Assert.Equal("failed", transition?.FinishedOutcome);
        Assert.False(state.ReturnedAfterPaid);
        Assert.Equal(new PayoutFailure("payout_failed", "The payout did not reach the seller's bank account."), state.Failure);
        Assert.Null(state.PspPayoutId);
    }

    [Theory]
    [InlineData(PayoutStatus.InTransit, PspPayoutStatus.InTransit)]
    [InlineData(PayoutStatus.Paid, PspPayoutStatus.Paid)]
    [InlineData(PayoutStatus.Paid, PspPayoutStatus.InTransit)]
    [InlineData(PayoutStatus.Failed, PspPayoutStatus.Paid)]
    [InlineData(PayoutStatus.Failed, PspPayoutStatus.Failed)]
    [InlineData(PayoutStatus.Failed, PspPayoutStatus.InTransit)]
    public void A_late_duplicated_or_backward_answer_changes_nothing(PayoutStatus status, PspPayoutStatus answer)
    {
        var state = PayoutStates.InTransit(PayoutStates.CreatedAt);
        state.Status = status;
        state.LastError = "kept";
        var before = PayoutSnapshot.Of(state);
        _time.Advance(TimeSpan.FromMinutes(1));

        var transition = PayoutStateMachine.Apply(state, PayoutStates.PayoutId, new PspPayoutOutcome(answer, "po_sim_2", "code", "message"), _time.GetUtcNow());

        Assert.Null(transition);
        Assert.Equal(before, PayoutSnapshot.Of(state));
    }

    [Fact]
    public void An_unknown_outcome_is_not_an_answer_and_never_reaches_the_state_machine() =>
        Assert.Throws<UnreachableException>(() =>
            PayoutStateMachine.Apply(PayoutStates.Reserved(), PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.Unknown, null, null, null), _time.GetUtcNow()));

    [Fact]
    public void The_history_stops_growing_at_its_limit_while_the_status_still_moves()
    {
        var state = PayoutStates.Reserved();
        while (state.History.Count < PayoutState.HistoryLengthMax)
        {
            state.History.Add(new PayoutHistoryEntry(PayoutStatus.Pending, PayoutStates.CreatedAt));
        }

        PayoutStateMachine.Apply(state, PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.Paid, "po_sim_1", null, null), _time.GetUtcNow());

        Assert.Equal(PayoutStatus.Paid, state.Status);
        Assert.Equal(20, state.History.Count);
        Assert.Single(state.OwedEvents);
    }

    [Fact]
    public void A_webhook_says_paid_failed_or_nothing_final()
    {
        Assert.Equal(
            new PspPayoutOutcome(PspPayoutStatus.Paid, "po_sim_1", null, null),
            PayoutStateMachine.AnswerIn(new PayoutNotice("evt_1", PayoutNoticeKind.Paid, "po_sim_1", "ignored", "ignored")));
        Assert.Equal(
            new PspPayoutOutcome(PspPayoutStatus.Failed, "po_sim_1", "account_closed", "closed"),
            PayoutStateMachine.AnswerIn(new PayoutNotice("evt_2", PayoutNoticeKind.Failed, "po_sim_1", "account_closed", "closed")));
        Assert.Null(PayoutStateMachine.AnswerIn(new PayoutNotice("evt_3", PayoutNoticeKind.Informational, "po_sim_1", null, null)));
    }

    [Theory]
    [InlineData("po_sim_1", "po_sim_2", true)]
    [InlineData("po_sim_1", "po_sim_1", false)]
    [InlineData("po_sim_1", null, false)]
    [InlineData(null, "po_sim_2", false)]
    public void Only_a_webhook_of_another_psp_payout_than_ours_is_foreign(string? ours, string? theirs, bool foreign)
    {
        var state = PayoutStates.Reserved();
        state.PspPayoutId = ours;

        var found = PayoutStateMachine.ForeignPspPayout(state, new PayoutNotice("evt_1", PayoutNoticeKind.Paid, theirs, null, null));

        Assert.Equal(foreign ? (theirs!, ours!) : null, found);
    }

    [Theory]
    [InlineData(PayoutStatus.Paid, PspPayoutStatus.Failed, true)]
    [InlineData(PayoutStatus.Paid, PspPayoutStatus.Paid, false)]
    [InlineData(PayoutStatus.InTransit, PspPayoutStatus.Failed, false)]
    [InlineData(PayoutStatus.Failed, PspPayoutStatus.Failed, false)]
    public void Only_a_failure_of_a_paid_payout_reopens_it(PayoutStatus status, PspPayoutStatus answer, bool reopens)
    {
        var state = PayoutStates.Reserved();
        state.Status = status;

        Assert.Equal(reopens, PayoutStateMachine.Reopens(state, answer));
    }
}

/// <summary>What an answer could change in a payout, to show that one changed nothing.</summary>
internal sealed record PayoutSnapshot(
    PayoutStatus Status, string? PspPayoutId, DateTimeOffset? PspCheckedAt, DateTimeOffset UpdatedAt, string? LastError,
    PayoutFailure? Failure, bool ReturnedAfterPaid, int HistoryCount, int OwedEventsCount)
{
    public static PayoutSnapshot Of(PayoutState state) => new(
        state.Status, state.PspPayoutId, state.PspCheckedAt, state.UpdatedAt, state.LastError, state.Failure, state.ReturnedAfterPaid,
        state.History.Count, state.OwedEvents.Count);
}
