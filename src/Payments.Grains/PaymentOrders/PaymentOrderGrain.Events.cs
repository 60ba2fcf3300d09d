using Microsoft.Extensions.Logging;
using Payments.Core.Checkout;
using Payments.Core.Events;
using Payments.Core.PaymentOrders;
using Payments.Grains.Events;

namespace Payments.Grains.PaymentOrders;

/// <summary>The order's events: owed with the change they report, written to the log after the state, and the checkout told.</summary>
internal sealed partial class PaymentOrderGrain
{
    private void OweEvent(PaymentOrderStatus status)
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
            State.OwedEvents.Add(OwedEvent.For(type, State.CheckoutId, time.GetUtcNow()));
        }
    }

    /// <summary>
    /// Every event of a checkout (its orders', their refunds', its completion) has the checkout as its ordering key: the
    /// merchant hears of a refund after the order's success, and of the checkout's completion after its orders.
    /// </summary>
    private void OweRefundEvent(RefundState refund, bool succeeded) =>
        State.OwedEvents.Add(OwedEvent.For(succeeded ? EventTypes.RefundSucceeded : EventTypes.RefundFailed, State.CheckoutId, time.GetUtcNow(), refund.RefundId));

    /// <summary>An event shows its resource as it is written with the change: rendered just before the state write.</summary>
    private void RenderOwedEvents()
    {
        foreach (var owed in State.OwedEvents.Where(owed => owed.Data is null))
        {
            owed.Data = owed.SubjectId is { } refundId
                ? ResourceJson.Refund(ToRefundView(State.Refunds.Single(refund => refund.RefundId == refundId)))
                : ResourceJson.PaymentOrder(ToView());
        }
    }

    private async Task WriteOwedEventsAsync()
    {
        if (!await events.WriteAsync(this, State.MerchantId, State.OwedEvents))
        {
            // The drive reminder stays while events are owed; the timer tries sooner.
            ArmRetryTimer(options.Value.Retry.DelayBase);
        }
    }

    /// <summary>A final order tells its checkout, which completes when all its orders are final.</summary>
    private async Task TellCheckoutIfFinalAsync()
    {
        if (!State.Status.IsFinal() || State.CheckoutTold || State.OwedEvents.Count > 0)
        {
            return;
        }

        try
        {
            await GrainFactory.GetGrain<ICheckoutGrain>(State.CheckoutId).OrderFinishedAsync(PaymentOrderId);
            // Stored with the next write; told again after a crash, which the checkout takes as the same news.
            State.CheckoutTold = true;
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Payment order {PaymentOrderId}: could not tell checkout {CheckoutId} it is final; will try again", PaymentOrderId, State.CheckoutId);
            ArmRetryTimer(options.Value.Retry.DelayBase);
        }
    }
}
