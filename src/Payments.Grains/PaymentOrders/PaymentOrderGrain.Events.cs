using Microsoft.Extensions.Logging;
using Payments.Core.Checkout;
using Payments.Core.Events;
using Payments.Core.PaymentOrders;
using Payments.Grains.Events;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// What the order owes the merchant rather than the money: its events, written to the log after the state that holds them,
/// and the news that it is final, for its checkout. Neither ever holds up a money step; both are retried with backoff.
/// </summary>
internal sealed partial class PaymentOrderGrain
{
    /// <summary>Failed rounds of events or checkout news in a row (in memory: a new activation starts again at once).</summary>
    private int _noticeFailures;

    /// <summary>The checkout was told since the last state write, which has not stored that yet.</summary>
    private bool _noticeUnsaved;

    private bool OwesNotices() => State.OwedEvents.Count > 0 || State.OwesCheckoutNotice;

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

    /// <summary>Events, then the checkout's news; stores that the checkout was told when no other write will.</summary>
    private async Task DeliverNoticesAsync()
    {
        await WriteOwedEventsAsync();
        await TellCheckoutIfOwedAsync();
        if (_noticeUnsaved)
        {
            await PersistAsync();
        }
    }

    private async Task WriteOwedEventsAsync()
    {
        if (await events.WriteAsync(this, State.MerchantId, State.OwedEvents))
        {
            _noticeFailures = 0;
            return;
        }

        NoticeFailed();
    }

    /// <summary>
    /// A final order tells its checkout, which completes when all its orders have told it. After the order's own events:
    /// the checkout's completion comes after them in the log.
    /// </summary>
    private async Task TellCheckoutIfOwedAsync()
    {
        if (!State.OwesCheckoutNotice || State.OwedEvents.Count > 0)
        {
            return;
        }

        try
        {
            await GrainFactory.GetGrain<ICheckoutGrain>(State.CheckoutId).OrderFinishedAsync(PaymentOrderId);
            State.OwesCheckoutNotice = false;
            _noticeUnsaved = true;
            _noticeFailures = 0;
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Payment order {PaymentOrderId}: could not tell checkout {CheckoutId} it is final; will try again", PaymentOrderId, State.CheckoutId);
            NoticeFailed();
        }
    }

    /// <summary>The drive reminder stays while notices are owed; the timer tries sooner, backing off like the PSP's retries.</summary>
    private void NoticeFailed()
    {
        var retry = options.Value.Retry;
        ArmRetryTimer(RetryDelay.Next(++_noticeFailures, retry.DelayBase, retry.DelayMax, retryAfter: null, Random.Shared));
    }
}
