using Payments.Core.Money;
using Payments.Core.PaymentOrders;

namespace Payments.Grains.PaymentOrders;

/// <summary>The order as its callers see it (the API, its checkout, the operations' listings, its events' data).</summary>
internal static class PaymentOrderViews
{
    public static PaymentOrderView Order(string paymentOrderId, PaymentOrderState state)
    {
        var currency = Currency.Get(state.Currency);
        return new PaymentOrderView(
            paymentOrderId,
            state.MerchantId,
            state.CheckoutId,
            state.SellerAccount,
            new Money(state.AmountMinor, currency),
            state.Status,
            state.PspReference,
            state.WalletUpdated,
            state.LedgerUpdated,
            state.Attempts,
            state.NextRetryAt,
            state.Failure,
            new Money(state.RefundedMinor, currency),
            state.History.ToArray(),
            state.CreatedAt,
            state.UpdatedAt,
            state.DeadLettered,
            state.Status == PaymentOrderStatus.RequiresAction ? state.ActionUrl : null,
            state.Refunds.Select(refund => Refund(paymentOrderId, state, refund)).Append(LatePaymentRefund(paymentOrderId, state)).OfType<RefundView>().ToArray(),
            state.FulfilledAt,
            state.OwesFulfillmentEffects,
            state.OwesEffects(),
            state.OwesWork());
    }

    public static RefundView Refund(string paymentOrderId, PaymentOrderState state, RefundState refund) => new(
        refund.RefundId, paymentOrderId, new Money(refund.AmountMinor, Currency.Get(state.Currency)), refund.Status, refund.Reason, refund.CreatedAt, refund.OwesEffects);

    /// <summary>A late payment shows among the order's refunds: it is money going back to the buyer.</summary>
    private static RefundView? LatePaymentRefund(string paymentOrderId, PaymentOrderState state) => state.LatePayment is { } late
        ? new RefundView(LatePayments.RefundIdFor(paymentOrderId), paymentOrderId, new Money(late.AmountMinor, Currency.Get(state.Currency)), late.RefundStatus,
            "paid_after_failure", late.FoundAt, EffectsOwed: !late.IsSettled)
        : null;
}
