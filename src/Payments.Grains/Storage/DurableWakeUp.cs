namespace Payments.Grains.Storage;

/// <summary>
/// When a grain is to be woken if nothing else wakes it first, and what for: the crash net of a grain that owes work. It
/// is stored in two columns of the grain's state row (sql/0011) by the statement that stores the state, so a stored
/// state and its wake-up are never out of step; <see cref="WakeUpSweep"/> reads the due ones.
/// </summary>
internal sealed record DurableWakeUp(DateTimeOffset At, string Reason)
{
    /// <summary>
    /// To the microsecond, as PostgreSQL keeps it: a wake-up read back from its row equals the one that was written, so a
    /// grain comparing what it wants with what is stored does not write again for the lost ticks.
    /// </summary>
    public DateTimeOffset At { get; } = new(At.UtcTicks - At.UtcTicks % 10, TimeSpan.Zero);

    /// <summary>The grain owes work: woken at <see cref="At"/> and every sweep after it, until a write drops the wake-up.</summary>
    public const string Drive = "drive";

    /// <summary>A paid payment order nobody has fulfilled: woken when it is to be fulfilled automatically.</summary>
    public const string AutoFulfill = "auto_fulfill";
}

/// <summary>
/// A wake-up as its row stores it: with the grain's own key, which the sweep calls the grain by (a key Orleans reads as a
/// number or a Guid has no key extension in the row to call it by).
/// </summary>
internal readonly record struct StoredWakeUp(DurableWakeUp WakeUp, string GrainKey);

/// <summary>
/// A grain state with a wake-up beside it. Not part of the payload: the storage sets it from the row's columns on a read
/// and writes it into them with every write, so it always says what the row holds once a write has succeeded.
/// </summary>
internal interface IHasDurableWakeUp
{
    DurableWakeUp? WakeUp { get; set; }
}
