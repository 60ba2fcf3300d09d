using Payments.Grains.Storage;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// The order's durable wake-up, the crash net stored beside its state (<see cref="DurableWakeUp"/>): decided from the state
/// before every write, so any stored state that owes work is one the sweep will wake. While the order owes work or notices it
/// is a drive wake-up, due one <see cref="PaymentOrderOptions.ReminderPeriod"/> after it was first written and every sweep
/// after that; a paid order nobody fulfilled is woken when it is to be fulfilled automatically; anything else is never woken.
/// </summary>
internal sealed class PaymentOrderWakeUps(PaymentOrderOptions options, OrderFulfillment fulfillment, TimeProvider time)
{
    /// <summary>
    /// What the row should hold for this state. A drive wake-up already held keeps its time: an order that writes several
    /// times while it works moves no index entry, and the sweep wakes it at the same pace as the reminder did.
    /// </summary>
    public DurableWakeUp? For(PaymentOrderState state)
    {
        if (!state.Exists)
        {
            return null;
        }

        if (state.OwesWork() || state.OwesNotices())
        {
            return Stored(state) is { Reason: DurableWakeUp.Drive } held ? held : new DurableWakeUp(time.GetUtcNow() + options.ReminderPeriod, DurableWakeUp.Drive);
        }

        return OrderFulfillment.AwaitsAutoFulfillment(state) ? new DurableWakeUp(fulfillment.AutomaticallyAt(state), DurableWakeUp.AutoFulfill) : null;
    }

    /// <summary>Just before a write: the wake-up the write stores with the state.</summary>
    public void BeforeWrite(PaymentOrderState state) => ((IHasDurableWakeUp)state).WakeUp = For(state);

    /// <summary>
    /// The row holds another wake-up than the state in memory wants: the order finished without a write of its own (the
    /// events and the checkout's news went out after the last one), or its row was written by an earlier build.
    /// </summary>
    public bool IsStale(PaymentOrderState state) => For(state) != Stored(state);

    public static DurableWakeUp? Stored(PaymentOrderState state) => ((IHasDurableWakeUp)state).WakeUp;

    /// <summary>After a failed write: the row still holds what it held before.</summary>
    public static void Restore(PaymentOrderState state, DurableWakeUp? stored) => ((IHasDurableWakeUp)state).WakeUp = stored;
}
