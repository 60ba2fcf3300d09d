namespace Payments.Grains.Wallets;

public sealed class WalletOptions
{
    public const string SectionName = "Wallets";

    /// <summary>
    /// How long a wallet keeps an operation id after its sender said it is stored as applied. Not at once: a second, stale
    /// activation of the sender (a silo paused and declared dead) may still have the move in flight; Orleans refuses messages
    /// from a silo once it is known dead, which every silo learns within seconds, so an hour is a wide margin.
    /// </summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromHours(1);
}
