using Payments.Core.PaymentOrders;
using Payments.Grains.Events;
using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>The one definition of owing work, on the state, and the view that carries it to the stuck listing and the invariants.</summary>
public sealed class OwesWorkTests
{
    [Theory]
    [InlineData(PaymentOrderStatus.NotStarted)]
    [InlineData(PaymentOrderStatus.Executing)]
    [InlineData(PaymentOrderStatus.RequiresAction)]
    public void An_order_not_final_owes_work_but_no_effects(PaymentOrderStatus status)
    {
        var state = OrderFixtures.NewTokenOrder();
        state.Status = status;

        Assert.True(state.OwesWork());
        Assert.False(state.OwesEffects());
    }

    [Fact]
    public void A_paid_and_booked_order_owes_nothing()
    {
        var state = OrderFixtures.Paid();

        Assert.False(state.OwesWork());
        Assert.False(state.OwesEffects());
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public void A_paid_order_owes_its_pay_in_until_wallet_and_ledger_both_have_it(bool walletUpdated, bool ledgerUpdated)
    {
        var state = OrderFixtures.Paid();
        state.WalletUpdated = walletUpdated;
        state.LedgerUpdated = ledgerUpdated;

        Assert.True(state.OwesPayInEffects());
        Assert.True(state.OwesEffects());
        Assert.True(state.OwesWork());
    }

    [Fact]
    public void A_pending_refund_owes_work_but_no_effects_until_the_psp_says_it_succeeded()
    {
        var state = OrderFixtures.Paid();
        state.Refunds.Add(OrderFixtures.PendingRefund());

        Assert.True(state.OwesWork());
        Assert.False(state.OwesEffects());

        state.Refunds[0].Status = RefundStatus.Succeeded;
        Assert.True(state.OwesEffects());

        state.Refunds[0].WalletUpdated = true;
        state.Refunds[0].LedgerUpdated = true;
        Assert.False(state.OwesWork());
    }

    [Fact]
    public void A_refund_that_bounced_owes_its_booking_and_its_reversal()
    {
        var state = OrderFixtures.Paid();
        var refund = OrderFixtures.PendingRefund();
        refund.Status = RefundStatus.Failed;
        refund.FailedAfterSuccess = true;
        refund.WalletUpdated = true;
        refund.LedgerUpdated = true;
        state.Refunds.Add(refund);

        Assert.True(state.OwesEffects());

        refund.ReversalWalletUpdated = true;
        refund.ReversalLedgerUpdated = true;
        Assert.False(state.OwesWork());
    }

    [Fact]
    public void A_fulfillment_owes_its_move_to_available()
    {
        var state = OrderFixtures.Paid();
        state.FulfilledAt = OrderFixtures.Start.AddDays(1);
        state.FulfilledMinor = OrderFixtures.AmountMinor;

        Assert.True(state.OwesEffects());

        state.FulfillmentWalletUpdated = true;
        state.FulfillmentLedgerUpdated = true;
        Assert.False(state.OwesWork());
    }

    [Fact]
    public void A_failed_hosted_page_owes_work_until_its_page_is_closed_but_no_effects()
    {
        var state = OrderFixtures.NewHostedOrder();
        state.Status = PaymentOrderStatus.Failed;
        state.HostedSessionId = "cs_1";

        Assert.True(state.OwesWork());
        Assert.False(state.OwesEffects());

        state.HostedPageClosed = true;
        Assert.False(state.OwesWork());
    }

    [Fact]
    public void A_late_payment_owes_effects_until_refunded_and_booked()
    {
        var state = OrderFixtures.NewHostedOrder();
        state.Status = PaymentOrderStatus.Failed;
        state.LatePayment = new LatePaymentState { PaymentIntentId = "pi_late", AmountMinor = OrderFixtures.AmountMinor, RefundStatus = RefundStatus.Succeeded, PaymentBooked = true };

        Assert.True(state.OwesEffects());
        Assert.True(state.OwesWork());

        state.LatePayment.RefundBooked = true;
        Assert.False(state.OwesWork());
    }

    [Fact]
    public void Notices_are_owed_apart_from_work()
    {
        var state = OrderFixtures.Paid();
        state.OwesCheckoutNotice = true;

        Assert.False(state.OwesWork());
        Assert.True(state.OwesNotices());

        state.OwesCheckoutNotice = false;
        state.OwedEvents.Add(OwedEvent.For("payment_order.succeeded", "chk_1", OrderFixtures.Start));
        Assert.True(state.OwesNotices());
    }

    [Fact]
    public void The_view_carries_the_state_s_answers_and_shows_a_late_payment_among_the_refunds()
    {
        var state = OrderFixtures.NewHostedOrder();
        state.Status = PaymentOrderStatus.Failed;
        state.HostedSessionId = "cs_1";
        state.HostedPageClosed = true;
        state.LatePayment = new LatePaymentState { PaymentIntentId = "pi_late", AmountMinor = OrderFixtures.AmountMinor, FoundAt = OrderFixtures.Start, RefundStatus = RefundStatus.Pending };

        var view = PaymentOrderViews.Order(OrderFixtures.PaymentOrderId, state);

        Assert.True(view.OwesWork);
        Assert.True(view.OwesEffects);
        var late = Assert.Single(view.Refunds);
        Assert.Equal("late_" + OrderFixtures.PaymentOrderId, late.RefundId);
        Assert.Equal(OrderFixtures.AmountMinor, late.Amount.Minor);
        Assert.Equal("paid_after_failure", late.Reason);
        Assert.True(late.EffectsOwed);
    }

    [Fact]
    public void The_view_of_a_settled_order_owes_nothing_and_hides_the_action_url_once_final()
    {
        var state = OrderFixtures.Paid();
        state.ActionUrl = "https://psp.example/3ds";

        var view = PaymentOrderViews.Order(OrderFixtures.PaymentOrderId, state);

        Assert.False(view.OwesWork);
        Assert.False(view.OwesEffects);
        Assert.Null(view.ActionUrl);
        Assert.Equal(OrderFixtures.AmountMinor, view.Amount.Minor);
        Assert.Equal("USD", view.Amount.Currency.Code);
    }
}
