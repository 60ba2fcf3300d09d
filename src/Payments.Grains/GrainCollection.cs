namespace Payments.Grains;

/// <summary>How long grains stay in memory once idle, where Orleans' 15 minutes is wrong for them.</summary>
internal static class GrainCollection
{
    /// <summary>
    /// For the grains made one per request, checkout or order (idempotency keys, checkouts, payment orders): each is rarely
    /// needed again soon, so at hundreds a second the default kept most of the last quarter hour's in memory, and the
    /// silo's per-second metrics walk tables as large as the activations. What they hold is stored; a later call reads it
    /// back, and an order that waits on a timer it does not keep alive for has its stored wake-up.
    /// </summary>
    public const double OnePerRequestIdleMinutes = 2;
}
