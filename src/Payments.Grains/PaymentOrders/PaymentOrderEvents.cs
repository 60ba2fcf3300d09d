using Payments.Core.Events;
using Payments.Core.PaymentOrders;
using Payments.Grains.Events;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// The events an order owes the merchant, added to its state in the same step as the change they report, so that an event
/// exists only if its change is stored. Every event of a checkout (its orders', their refunds', its completion) has the
/// checkout as its ordering key: the merchant hears of a refund after the order's success, and of the checkout's completion
/// after its orders.
/// </summary>
internal static class PaymentOrderEvents
{
    public static void OweStatusEvent(PaymentOrderState state, PaymentOrderStatus status, DateTimeOffset now)
    {
        var type = status switch
        {
            PaymentOrderStatus.Success => EventTypes.PaymentOrderSucceeded,
            PaymentOrderStatus.Failed => EventTypes.PaymentOrderFailed,
            PaymentOrderStatus.RequiresAction => EventTypes.PaymentOrderRequiresAction,
            _ => null,
        };
        if (type is not null)
        {
            state.OwedEvents.Add(OwedEvent.For(type, state.CheckoutId, now));
        }
    }

    public static void OweRefundEvent(PaymentOrderState state, RefundState refund, bool succeeded, DateTimeOffset now) =>
        state.OwedEvents.Add(OwedEvent.For(succeeded ? EventTypes.RefundSucceeded : EventTypes.RefundFailed, state.CheckoutId, now, refund.RefundId));

    /// <summary>An event shows its resource as it is written with the change: rendered just before the state write.</summary>
    public static void Render(string paymentOrderId, PaymentOrderState state)
    {
        foreach (var owed in state.OwedEvents.Where(owed => owed.Data is null))
        {
            owed.Data = owed.SubjectId is { } refundId
                ? ResourceJson.Refund(PaymentOrderViews.Refund(paymentOrderId, state, state.Refunds.Single(refund => refund.RefundId == refundId)))
                : ResourceJson.PaymentOrder(PaymentOrderViews.Order(paymentOrderId, state));
        }
    }
}
