using System.Text.Json;
using Payments.Core.Payouts;
using Payments.Grains.Payouts;
using Payments.Psp;

namespace Payments.Tests.Unit.Payouts;

public sealed class PayoutViewsTests
{
    [Fact]
    public void A_payout_shows_what_was_asked_until_the_wallet_reserved_and_nothing_for_all_available()
    {
        var asked = PayoutCreation.Open(PayoutStates.Command(12_345), PayoutStates.CreatedAt);
        var allAvailable = PayoutCreation.Open(PayoutStates.Command(amountMinor: null), PayoutStates.CreatedAt);

        Assert.Equal(12_345, PayoutViews.Of(PayoutStates.PayoutId, asked).Amount.Minor);
        Assert.Equal(0, PayoutViews.Of(PayoutStates.PayoutId, allAvailable).Amount.Minor);

        PayoutCreation.TakeReservation(allAvailable, 70_000, PayoutStates.CreatedAt);
        Assert.Equal(70_000, PayoutViews.Of(PayoutStates.PayoutId, allAvailable).Amount.Minor);
    }

    [Fact]
    public void The_view_carries_the_payouts_progress_as_stored()
    {
        var state = PayoutStates.InTransit(PayoutStates.CreatedAt.AddMinutes(1));
        state.Attempts = 2;
        state.NextRetryAt = PayoutStates.CreatedAt.AddMinutes(3);

        var view = PayoutViews.Of(PayoutStates.PayoutId, state);

        Assert.Equal(("pay_1", "merchant_1", "seller_1", "USD"), (view.PayoutId, view.MerchantId, view.SellerAccount, view.Amount.Currency.Code));
        Assert.Equal(PayoutStatus.InTransit, view.Status);
        Assert.Equal("po_sim_1", view.PspReference);
        Assert.Equal(2, view.Attempts);
        Assert.Equal(PayoutStates.CreatedAt.AddMinutes(3), view.NextRetryAt);
        Assert.Equal(2, view.History.Count);
        Assert.False(view.DeadLettered);
        Assert.False(view.OwesEffects);
    }

    [Fact]
    public void An_owed_event_is_rendered_once_with_the_payout_as_stored_with_its_change()
    {
        var state = PayoutStates.InTransit(PayoutStates.CreatedAt);
        PayoutStateMachine.Apply(state, PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.Paid, "po_sim_1", null, null), PayoutStates.CreatedAt.AddHours(1));

        PayoutEvents.Render(state, PayoutStates.PayoutId);
        var rendered = Assert.Single(state.OwedEvents).Data;
        PayoutStateMachine.Apply(state, PayoutStates.PayoutId, new PspPayoutOutcome(PspPayoutStatus.Failed, "po_sim_1", "account_closed", null), PayoutStates.CreatedAt.AddHours(2));
        PayoutEvents.Render(state, PayoutStates.PayoutId);

        Assert.Equal(rendered, state.OwedEvents[0].Data);
        Assert.Equal(("pay_1", "PAID", "123.45"), Resource(state.OwedEvents[0].Data));
        Assert.Equal(("pay_1", "FAILED", "123.45"), Resource(state.OwedEvents[1].Data));
    }

    [Theory]
    [InlineData(PayoutStatus.Pending, null)]
    [InlineData(PayoutStatus.InTransit, null)]
    [InlineData(PayoutStatus.Paid, "payout.paid")]
    [InlineData(PayoutStatus.Failed, "payout.failed")]
    public void Only_a_paid_or_failed_payout_is_an_event(PayoutStatus status, string? type) => Assert.Equal(type, PayoutEvents.TypeFor(status));

    private static (string? Id, string? Status, string? Amount) Resource(string? data)
    {
        using var json = JsonDocument.Parse(data ?? throw new InvalidOperationException("the event was not rendered"));
        var payout = json.RootElement.GetProperty("object");
        return (payout.GetProperty("payout_id").GetString(), payout.GetProperty("status").GetString(), payout.GetProperty("amount").GetString());
    }
}
