using Payments.Core.PaymentOrders;
using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>Fulfillment: what remains after refunds becomes available, by the merchant's call or 14 days after success.</summary>
public sealed class OrderFulfillmentTests
{
    [Fact]
    public void Only_a_paid_order_is_fulfilled_and_only_once()
    {
        var paid = OrderFixtures.Paid();

        Assert.Equal(FulfillPaymentOrderOutcome.NotFulfillable, OrderFulfillment.Outcome(OrderFixtures.NewTokenOrder()));
        Assert.Equal(FulfillPaymentOrderOutcome.NotFulfillable, OrderFulfillment.Outcome(new PaymentOrderState()));
        Assert.Equal(FulfillPaymentOrderOutcome.Fulfilled, OrderFulfillment.Outcome(paid));
        paid.FulfilledAt = OrderFixtures.Start;
        Assert.Equal(FulfillPaymentOrderOutcome.AlreadyFulfilled, OrderFulfillment.Outcome(paid));
    }

    [Fact]
    public void Fulfillment_moves_the_amount_less_what_was_refunded_then()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.Paid();
        state.RefundedMinor = 2_345;
        time.Advance(TimeSpan.FromDays(3));

        OrderFixtures.Rules(time).Fulfillment.Mark(state);

        Assert.Equal(10_000, state.FulfilledMinor);
        Assert.Equal(OrderFixtures.Start.AddDays(3), state.FulfilledAt);
        Assert.Equal(OrderFixtures.Start.AddDays(3), state.UpdatedAt);
        Assert.True(state.OwesFulfillmentEffects);
    }

    [Fact]
    public void Nobody_fulfilling_it_the_order_is_fulfilled_fourteen_days_after_its_first_success()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.Paid();
        var fulfillment = OrderFixtures.Rules(time).Fulfillment;

        Assert.Equal(OrderFixtures.Start.AddSeconds(1).AddDays(14), fulfillment.AutomaticallyAt(state));
        Assert.False(fulfillment.IsDue(state));

        time.Advance(TimeSpan.FromDays(14));
        Assert.False(fulfillment.IsDue(state));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(fulfillment.IsDue(state));
    }

    [Fact]
    public void A_parked_order_waits_and_a_fulfilled_or_unpaid_one_is_never_due()
    {
        var time = OrderFixtures.Clock();
        time.Advance(TimeSpan.FromDays(30));
        var fulfillment = OrderFixtures.Rules(time).Fulfillment;
        var parked = OrderFixtures.Paid();
        parked.DeadLettered = true;
        var fulfilled = OrderFixtures.Paid();
        fulfilled.FulfilledAt = OrderFixtures.Start;

        Assert.False(fulfillment.IsDue(parked));
        Assert.False(fulfillment.IsDue(fulfilled));
        Assert.False(fulfillment.IsDue(OrderFixtures.NewTokenOrder()));
        Assert.False(OrderFulfillment.AwaitsAutoFulfillment(fulfilled));
        Assert.True(OrderFulfillment.AwaitsAutoFulfillment(parked));
    }
}
