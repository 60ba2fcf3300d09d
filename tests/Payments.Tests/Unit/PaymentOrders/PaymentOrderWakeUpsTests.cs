using Payments.Core.PaymentOrders;
using Payments.Grains.PaymentOrders;
using Payments.Grains.Storage;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>
/// The wake-up an order stores with each write: a drive wake-up while it owes work or notices (kept at its first time over
/// later writes), its auto-fulfillment once it is paid and owes nothing else, none once it is done; and when the row holds
/// another than the state wants, one more write.
/// </summary>
public sealed class PaymentOrderWakeUpsTests
{
    private static readonly TimeSpan Period = new PaymentOrderOptions().ReminderPeriod;

    [Fact]
    public void An_order_that_owes_work_is_woken_one_period_after_its_first_write_however_often_it_writes()
    {
        var time = OrderFixtures.Clock();
        var wakeUps = OrderFixtures.Rules(time).WakeUps;
        var state = OrderFixtures.NewTokenOrder();

        wakeUps.BeforeWrite(state);
        Assert.Equal(new DurableWakeUp(OrderFixtures.Start + Period, DurableWakeUp.Drive), PaymentOrderWakeUps.Stored(state));

        time.Advance(TimeSpan.FromSeconds(40));
        state.Status = PaymentOrderStatus.Executing;
        Assert.False(wakeUps.IsStale(state));
        wakeUps.BeforeWrite(state);
        Assert.Equal(new DurableWakeUp(OrderFixtures.Start + Period, DurableWakeUp.Drive), PaymentOrderWakeUps.Stored(state));
    }

    [Fact]
    public void A_paid_order_owing_nothing_else_is_woken_to_be_fulfilled_and_a_fulfilled_one_never()
    {
        var time = OrderFixtures.Clock();
        var rules = OrderFixtures.Rules(time);
        var state = OrderFixtures.Paid(booked: false);
        rules.WakeUps.BeforeWrite(state);
        Assert.Equal(DurableWakeUp.Drive, PaymentOrderWakeUps.Stored(state)?.Reason);

        // The effects landed and the checkout heard; the last write stored that.
        (state.WalletUpdated, state.LedgerUpdated) = (true, true);
        Assert.True(rules.WakeUps.IsStale(state));
        rules.WakeUps.BeforeWrite(state);
        Assert.Equal(new DurableWakeUp(OrderFixtures.Start.AddSeconds(1) + new FulfillmentOptions().AutoAfter, DurableWakeUp.AutoFulfill), PaymentOrderWakeUps.Stored(state));

        // Events owed again (a refund's, say) bring the drive wake-up back, due a period from now.
        time.Advance(TimeSpan.FromDays(2));
        state.OwesCheckoutNotice = true;
        Assert.Equal(new DurableWakeUp(time.GetUtcNow() + Period, DurableWakeUp.Drive), rules.WakeUps.For(state));
        state.OwesCheckoutNotice = false;

        rules.Fulfillment.Mark(state);
        Assert.Equal(DurableWakeUp.Drive, rules.WakeUps.For(state)?.Reason);
        state.FulfillmentWalletUpdated = true;
        state.FulfillmentLedgerUpdated = true;
        Assert.Null(rules.WakeUps.For(state));
        Assert.Null(rules.WakeUps.For(new PaymentOrderState()));
    }

    [Fact]
    public void A_parked_order_keeps_its_drive_wake_up()
    {
        var state = OrderFixtures.NewTokenOrder();
        state.Status = PaymentOrderStatus.Executing;
        state.DeadLettered = true;

        Assert.Equal(DurableWakeUp.Drive, OrderFixtures.Rules(OrderFixtures.Clock()).WakeUps.For(state)?.Reason);
    }
}
