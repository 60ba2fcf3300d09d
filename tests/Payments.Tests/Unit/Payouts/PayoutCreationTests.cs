using Microsoft.Extensions.Time.Testing;
using Payments.Core.Payouts;
using Payments.Grains.Payouts;

namespace Payments.Tests.Unit.Payouts;

public sealed class PayoutCreationTests
{
    private readonly FakeTimeProvider _time = new(PayoutStates.CreatedAt);

    [Fact]
    public void A_new_payout_is_pending_unreserved_with_its_terms_and_one_history_entry()
    {
        var state = PayoutCreation.Open(PayoutStates.Command(amountMinor: null), _time.GetUtcNow());

        Assert.True(state.Exists);
        Assert.Equal(("merchant_1", "seller_1", "USD", "ba_sim_ok", "request_1"), (state.MerchantId, state.SellerAccount, state.Currency, state.Destination, state.CreatedByRequest));
        Assert.Null(state.RequestedMinor);
        Assert.Equal(0, state.AmountMinor);
        Assert.False(state.Reserved);
        Assert.Equal(PayoutStatus.Pending, state.Status);
        Assert.Equal([new PayoutHistoryEntry(PayoutStatus.Pending, _time.GetUtcNow())], state.History);
        Assert.Equal(_time.GetUtcNow(), state.CreatedAt);
        Assert.Equal(_time.GetUtcNow(), state.UpdatedAt);
        Assert.Equal(0, state.Attempts);
        Assert.True(state.OwesEffects);
        Assert.False(state.IsDone);
    }

    [Fact]
    public void The_reservation_becomes_the_payouts_amount()
    {
        var state = PayoutCreation.Open(PayoutStates.Command(amountMinor: null), _time.GetUtcNow());
        _time.Advance(TimeSpan.FromMilliseconds(40));

        PayoutCreation.TakeReservation(state, 70_000, _time.GetUtcNow());

        Assert.True(state.Reserved);
        Assert.Equal(70_000, state.AmountMinor);
        Assert.Null(state.RequestedMinor);
        Assert.Equal(_time.GetUtcNow(), state.UpdatedAt);
    }

    [Theory]
    [InlineData("merchant_1", "seller_1", "USD", 12_345L, true)]
    [InlineData("merchant_1", "seller_1", "USD", null, true)]
    [InlineData("merchant_2", "seller_1", "USD", 12_345L, false)]
    [InlineData("merchant_1", "seller_2", "USD", 12_345L, false)]
    [InlineData("merchant_1", "seller_1", "EUR", 12_345L, false)]
    [InlineData("merchant_1", "seller_1", "USD", 12_344L, false)]
    public void A_request_for_an_existing_payout_asks_for_it_only_with_the_same_terms(string merchant, string seller, string currency, long? amountMinor, bool same)
    {
        var state = PayoutCreation.Open(PayoutStates.Command(12_345), _time.GetUtcNow());

        Assert.Equal(same, PayoutCreation.HasSameTerms(state, new CreatePayout(merchant, seller, currency, amountMinor, "ba_other")));
    }

    [Theory]
    [InlineData(70_000L, true)]
    [InlineData(12_345L, false)]
    public void A_payout_of_all_that_was_available_has_the_reserved_amount_as_its_term(long amountMinor, bool same)
    {
        var state = PayoutCreation.Open(PayoutStates.Command(amountMinor: null), _time.GetUtcNow());
        Assert.False(PayoutCreation.HasSameTerms(state, PayoutStates.Command(amountMinor)));

        PayoutCreation.TakeReservation(state, 70_000, _time.GetUtcNow());

        Assert.Equal(same, PayoutCreation.HasSameTerms(state, PayoutStates.Command(amountMinor)));
    }

    [Theory]
    [InlineData("request_1", CreatePayoutOutcome.Created)]
    [InlineData("request_2", CreatePayoutOutcome.AlreadyExists)]
    [InlineData(null, CreatePayoutOutcome.AlreadyExists)]
    public void The_request_that_created_a_payout_is_told_created_again_any_other_already_exists(string? requestToken, CreatePayoutOutcome outcome)
    {
        var state = PayoutStates.Reserved();

        Assert.Equal(outcome, PayoutCreation.OutcomeOfRepeat(state, PayoutStates.Command(requestToken: requestToken)));
    }

    [Fact]
    public void A_repeat_after_the_wallet_refused_the_payout_is_told_insufficient_funds() =>
        Assert.Equal(CreatePayoutOutcome.InsufficientFunds, PayoutCreation.OutcomeOfRepeat(new PayoutState(), PayoutStates.Command()));

    [Fact]
    public void A_request_without_a_token_is_not_the_creating_request_of_a_payout_created_without_one()
    {
        var state = PayoutCreation.Open(PayoutStates.Command(requestToken: null), _time.GetUtcNow());

        Assert.Equal(CreatePayoutOutcome.AlreadyExists, PayoutCreation.OutcomeOfRepeat(state, PayoutStates.Command(requestToken: null)));
    }
}
