namespace Payments.Grains.PaymentOrders;

/// <summary>
/// One thing the order waits for, as the grain's single <see cref="WakeUpTimer"/> is armed for it (the earliest wins). A call
/// the PSP did not answer is asked again soon, and the activation stays for it; a lookup of what the PSP already answered
/// (or will tell by webhook) does not keep the activation: if it goes meanwhile, the sweep of its stored drive wake-up brings the order back.
/// </summary>
internal readonly record struct WakeUp(TimeSpan Delay, bool KeepAlive)
{
    public static WakeUp Retry(TimeSpan delay) => new(delay, KeepAlive: true);

    public static WakeUp Poll(TimeSpan delay) => new(delay, KeepAlive: false);

    /// <summary>
    /// The rest of a wait stored in state (woken by a webhook, another refund, the sweep, or a timer a hair early): null
    /// once <paramref name="due"/> has come, so that the caller tries now instead of spending an attempt early.
    /// </summary>
    public static WakeUp? UntilDue(DateTimeOffset? due, DateTimeOffset now, bool pspAnswered) =>
        due is { } at && at > now ? new WakeUp(at - now, KeepAlive: !pspAnswered) : null;
}
