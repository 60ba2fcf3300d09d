using Payments.Core.Money;
using Payments.Core.PaymentOrders;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// What must hold of an order whenever it is loaded or about to be written: a valid amount, no money moved unless it
/// succeeded, never more refunded than paid. A breach is a bug: it throws, and the order never continues with bad state.
/// </summary>
internal static class PaymentOrderInvariants
{
    public static void Assert(string paymentOrderId, PaymentOrderState state)
    {
        if (!state.Exists)
        {
            return;
        }

        if (state.AmountMinor <= 0 || !Currency.TryGet(state.Currency, out _))
        {
            throw new InvalidOperationException($"Payment order {paymentOrderId} has an invalid amount {state.AmountMinor} {state.Currency}.");
        }

        if ((state.WalletUpdated || state.LedgerUpdated) && state.Status != PaymentOrderStatus.Success)
        {
            throw new InvalidOperationException($"Payment order {paymentOrderId} moved money while {state.Status}.");
        }

        if (state.Refunds.Where(refund => refund.Status != RefundStatus.Failed).Sum(refund => refund.AmountMinor) > state.AmountMinor)
        {
            throw new InvalidOperationException($"Payment order {paymentOrderId} has refunds beyond its amount.");
        }

        if (state.RefundedMinor < 0 || state.RefundedMinor > state.AmountMinor)
        {
            throw new InvalidOperationException($"Payment order {paymentOrderId} refunded {state.RefundedMinor} of {state.AmountMinor}.");
        }
    }
}
