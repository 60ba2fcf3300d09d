namespace Payments.Grains.PaymentOrders;

/// <summary>
/// The one retry rule of a payment order, for every try that may come to nothing: the charge, a refund, the outbox's rounds,
/// the cancel of an expired payment, a late payment's refund and bookings, the merchant's notices. The n-th try counted since
/// the budget began waits <c>uniform(0, min(DelayMax, DelayBase·2^(n−1)))</c> (full jitter, <see cref="RetryDelay"/>), never less
/// than the PSP's Retry-After, and the budget is spent after <c>AttemptsMax</c> tries. A replay starts a fresh budget: the count
/// toward the limit starts again, and so does the backoff.
/// </summary>
/// <remarks>
/// What a spent budget means is the caller's: the charge, a refund and the outbox park the order (the PSP may have moved money);
/// a late payment's refund keeps asking at the longest delay, loudly, rather than give up on the buyer's money; the cancel of an
/// expired payment and the notices only back off.
/// </remarks>
internal sealed class RetryBudget(PaymentOrderOptions.RetryOptions policy, Random random)
{
    public bool IsSpent(int triesSinceBudgetStart) => triesSinceBudgetStart >= policy.AttemptsMax;

    /// <summary>How long to wait after the <paramref name="triesSinceBudgetStart"/>-th try (1 for the first) before the next.</summary>
    public TimeSpan DelayAfter(int triesSinceBudgetStart, TimeSpan? retryAfter = null) =>
        RetryDelay.Next(triesSinceBudgetStart, policy.DelayBase, policy.DelayMax, retryAfter, random);
}
