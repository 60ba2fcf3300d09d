using Payments.Core.PaymentOrders;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// Fulfillment: the goods were delivered (the merchant says so, or <see cref="FulfillmentOptions.AutoAfter"/> passed since the
/// order succeeded), and what remains of the payment after refunds becomes the seller's to be paid out.
/// </summary>
internal sealed class OrderFulfillment(FulfillmentOptions options, TimeProvider time)
{
    public static FulfillPaymentOrderOutcome Outcome(PaymentOrderState state) =>
        !state.Exists || state.Status != PaymentOrderStatus.Success ? FulfillPaymentOrderOutcome.NotFulfillable
        : state.FulfilledAt is null ? FulfillPaymentOrderOutcome.Fulfilled
        : FulfillPaymentOrderOutcome.AlreadyFulfilled;

    /// <summary>
    /// Records the fulfillment (write-ahead, like every transition): what remains after the refunds that succeeded moves to
    /// available; a refund still pending takes its money from available once it succeeds.
    /// </summary>
    public void Mark(PaymentOrderState state)
    {
        state.FulfilledAt = time.GetUtcNow();
        state.FulfilledMinor = state.AmountMinor - state.RefundedMinor;
        state.UpdatedAt = state.FulfilledAt.Value;
    }

    /// <summary>While a paid order is not fulfilled, its wake-up is its auto-fulfillment (once it owes nothing else).</summary>
    public static bool AwaitsAutoFulfillment(PaymentOrderState state) => state.Status == PaymentOrderStatus.Success && state.FulfilledAt is null;

    /// <summary>When a paid order is fulfilled if nobody does it first.</summary>
    public DateTimeOffset AutomaticallyAt(PaymentOrderState state)
    {
        var succeededAt = state.History.FirstOrDefault(entry => entry.Status == PaymentOrderStatus.Success)?.At ?? state.UpdatedAt;
        return succeededAt + options.AutoAfter;
    }

    /// <summary>A paid order is to be fulfilled automatically now. A parked one waits: its pay-in's booking comes first.</summary>
    public bool IsDue(PaymentOrderState state) => AwaitsAutoFulfillment(state) && !state.DeadLettered && AutomaticallyAt(state) <= time.GetUtcNow();
}
