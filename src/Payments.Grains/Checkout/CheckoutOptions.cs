namespace Payments.Grains.Checkout;

/// <summary>How checkouts are run (section <c>Checkout</c>).</summary>
public sealed class CheckoutOptions
{
    public const string SectionName = "Checkout";

    /// <summary>
    /// False by default: <c>checkout.completed</c> goes straight to the event log, with no state write. A cluster upgrading
    /// from a build before that runs its new silos with <c>true</c> until no old silo is left: an old silo knows a checkout
    /// is complete only from its stored state, and would make a second completion otherwise. With <c>true</c> the completion
    /// is stored first, under the same id, so any build writes the same event.
    /// </summary>
    public bool StoreCompletion { get; set; }
}
