namespace Payments.Grains.Wallets;

public sealed class WalletOptions
{
    public const string SectionName = "Wallets";

    /// <summary>
    /// With <see cref="RecordOperationsInTable"/> off: how long a wallet keeps an operation id after its sender said it is
    /// stored as applied. Not at once: a second, stale activation of the sender (a silo paused and declared dead) may still
    /// have the move in flight; Orleans refuses messages from a silo once it is known dead, which every silo learns within
    /// seconds, so an hour is a wide margin.
    /// </summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Each applied operation id is a row of <c>grain_operations</c>, written by the statement that writes the wallet, and
    /// kept for good: the wallet's state holds only its balances and reservations, however busy it is. False records the
    /// rows just the same and keeps the ids in the state as well, forgotten <see cref="ForgetAfter"/> after their senders
    /// said so, as builds before this one did: for a rolling upgrade from such a build, whose silos read the state alone.
    /// Upgrade with false, then switch to true once no silo of the earlier build is left (silos of either setting may run
    /// side by side: both record and consult the table). Going back to an earlier build is safe only from false.
    /// </summary>
    public bool RecordOperationsInTable { get; set; } = true;
}
