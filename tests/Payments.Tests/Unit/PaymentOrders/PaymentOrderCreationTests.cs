using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>Creating an order is idempotent by its id and terms; only its checkout releases it, and only before it started.</summary>
public sealed class PaymentOrderCreationTests
{
    [Fact]
    public void A_new_order_is_not_started_with_its_terms_and_one_history_entry()
    {
        var state = OrderFixtures.NewHostedOrder();

        Assert.Null(PaymentOrderCreation.ExistingOutcome(new PaymentOrderState(), OrderFixtures.Command(PaymentMethod.ForToken("pm_card_visa"))));
        Assert.True(state.Exists);
        Assert.Equal(PaymentOrderStatus.NotStarted, state.Status);
        Assert.Equal(OrderFixtures.AmountMinor, state.AmountMinor);
        Assert.Equal("USD", state.Currency);
        Assert.Equal(string.Empty, state.PaymentMethodToken);
        Assert.Equal("https://shop.example/return", state.ReturnUrl);
        Assert.Equal([new PaymentOrderHistoryEntry(PaymentOrderStatus.NotStarted, OrderFixtures.Start)], state.History);
        Assert.Equal(OrderFixtures.Start, state.CreatedAt);
        PaymentOrderInvariants.Assert(OrderFixtures.PaymentOrderId, state);
    }

    [Fact]
    public void The_same_create_again_exists_other_terms_differ_and_another_checkout_cannot_claim_it()
    {
        var state = OrderFixtures.NewTokenOrder();
        var token = PaymentMethod.ForToken("pm_card_visa");

        Assert.Equal(CreatePaymentOrderOutcome.AlreadyExists, PaymentOrderCreation.ExistingOutcome(state, OrderFixtures.Command(token)));
        Assert.Equal(CreatePaymentOrderOutcome.ExistsWithDifferentTerms, PaymentOrderCreation.ExistingOutcome(state, OrderFixtures.Command(token, amountMinor: 1)));
        Assert.Equal(CreatePaymentOrderOutcome.ExistsWithDifferentTerms, PaymentOrderCreation.ExistingOutcome(state, OrderFixtures.Command(token, seller: "seller_2")));
        Assert.Equal(CreatePaymentOrderOutcome.BelongsToOtherCheckout,
            PaymentOrderCreation.ExistingOutcome(state, OrderFixtures.Command(token) with { CheckoutId = "chk_2" }));
        Assert.Equal(CreatePaymentOrderOutcome.ExistsWithDifferentTerms,
            PaymentOrderCreation.ExistingOutcome(state, OrderFixtures.Command(token) with { Amount = new Money(OrderFixtures.AmountMinor, Currency.Get("EUR")) }));
    }

    [Fact]
    public void Only_its_checkout_releases_an_order_and_only_before_it_started()
    {
        var state = OrderFixtures.NewTokenOrder();

        Assert.True(PaymentOrderCreation.MayRelease(state, "chk_1"));
        Assert.False(PaymentOrderCreation.MayRelease(state, "chk_2"));
        state.Status = PaymentOrderStatus.Executing;
        Assert.False(PaymentOrderCreation.MayRelease(state, "chk_1"));
    }

    [Fact]
    public void An_order_started_in_its_create_write_is_released_only_while_its_checkout_has_not_let_it_go()
    {
        var state = OrderFixtures.NewTokenOrder();
        OrderFixtures.Rules(OrderFixtures.Clock()).Charge.StartAhead(state);

        Assert.Equal(PaymentOrderStatus.Executing, state.Status);
        Assert.True(PaymentOrderCreation.MayRelease(state, "chk_1"));
        Assert.False(PaymentOrderCreation.MayRelease(state, "chk_2"));
        state.AwaitsCheckout = false;
        Assert.False(PaymentOrderCreation.MayRelease(state, "chk_1"));
    }

    [Fact]
    public void The_invariants_refuse_money_moved_before_success_and_refunds_beyond_the_amount()
    {
        var early = OrderFixtures.NewTokenOrder();
        early.WalletUpdated = true;
        var overRefunded = OrderFixtures.Paid();
        overRefunded.Refunds.Add(OrderFixtures.PendingRefund("re_1", OrderFixtures.AmountMinor + 1));
        var negative = OrderFixtures.Paid();
        negative.RefundedMinor = -1;

        Assert.Throws<InvalidOperationException>(() => PaymentOrderInvariants.Assert(OrderFixtures.PaymentOrderId, early));
        Assert.Throws<InvalidOperationException>(() => PaymentOrderInvariants.Assert(OrderFixtures.PaymentOrderId, overRefunded));
        Assert.Throws<InvalidOperationException>(() => PaymentOrderInvariants.Assert(OrderFixtures.PaymentOrderId, negative));
        PaymentOrderInvariants.Assert(OrderFixtures.PaymentOrderId, new PaymentOrderState());
    }
}
