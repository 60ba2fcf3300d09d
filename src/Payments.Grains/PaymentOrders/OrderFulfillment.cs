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

    /// <summary>While a paid order is not fulfilled, its auto-fulfillment reminder keeps it (it outlives the drive reminder).</summary>
    public static bool AwaitsAutoFulfillment(PaymentOrderState state) => state.Status == PaymentOrderStatus.Success && state.FulfilledAt is null;

    /// <summary>When a paid order is fulfilled if nobody does it first.</summary>
    public DateTimeOffset AutomaticallyAt(PaymentOrderState state)
    {
        var succeededAt = state.History.FirstOrDefault(entry => entry.Status == PaymentOrderStatus.Success)?.At ?? state.UpdatedAt;
        return succeededAt + options.AutoAfter;
    }

    /// <summary>How long until the auto-fulfillment reminder's first tick: at the auto-fulfillment time, or at once if that has passed.</summary>
    public TimeSpan ReminderDueIn(PaymentOrderState state)
    {
        var dueIn = AutomaticallyAt(state) - time.GetUtcNow();
        return dueIn < TimeSpan.Zero ? TimeSpan.Zero : dueIn;
    }

    /// <summary>What the auto-fulfillment reminder's tick does. A parked order waits: its pay-in's booking comes first.</summary>
    public AutoFulfillmentStep OnReminder(PaymentOrderState state) =>
        !AwaitsAutoFulfillment(state) ? AutoFulfillmentStep.Stop
        : state.DeadLettered || AutomaticallyAt(state) > time.GetUtcNow() ? AutoFulfillmentStep.Wait
        : AutoFulfillmentStep.FulfillNow;
}

internal enum AutoFulfillmentStep
{
    /// <summary>Not due (or parked): the reminder ticks again.</summary>
    Wait,

    FulfillNow,

    /// <summary>Fulfilled already, or never paid: the reminder goes.</summary>
    Stop,
}
