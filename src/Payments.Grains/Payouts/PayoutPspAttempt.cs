using Payments.Psp;

namespace Payments.Grains.Payouts;

/// <summary>
/// The payout's request to the PSP (Idempotency-Key = payout id), when the next attempt is due, and what an attempt records
/// before the PSP hears of it (write-ahead), including whether it must look for a payout an earlier attempt made first.
/// </summary>
internal static class PayoutPspAttempt
{
    /// <summary>How far the PSP's payouts are searched beyond our first and latest attempts (clocks differ).</summary>
    public static readonly TimeSpan SearchMargin = TimeSpan.FromHours(1);

    public static PspPayoutRequest Request(string payoutId, PayoutState state) =>
        new(payoutId, state.SellerAccount, state.AmountMinor, state.Currency, state.Destination);

    /// <summary>How long a pending payout waits before its next attempt; null when the attempt is due now.</summary>
    public static TimeSpan? WaitBeforeNext(PayoutState state, DateTimeOffset now) =>
        state.NextRetryAt is { } due && due > now ? due - now : null;

    /// <summary>
    /// Records an attempt made at <paramref name="now"/>. Past the idempotency window since the first attempt the PSP may
    /// have forgotten our key, and creating again could pay twice: then the answer is the window to search for a payout an
    /// earlier attempt made (from the first attempt to the latest one before this), to create only when there is none.
    /// </summary>
    public static PayoutSearchWindow? Begin(PayoutState state, DateTimeOffset now, TimeSpan idempotencyWindow)
    {
        var keyMayBeForgotten = state.FirstAttemptAt is { } first && now - first > idempotencyWindow;
        var previousAttemptAt = state.LastAttemptAt ?? now;
        state.Attempts++;
        state.FirstAttemptAt ??= now;
        state.LastAttemptAt = now;
        state.NextRetryAt = null;
        state.UpdatedAt = now;
        return keyMayBeForgotten ? new PayoutSearchWindow(state.FirstAttemptAt.Value - SearchMargin, previousAttemptAt + SearchMargin) : null;
    }
}

/// <summary>When a payout an earlier attempt made can have been created at the PSP.</summary>
internal sealed record PayoutSearchWindow(DateTimeOffset CreatedNotBefore, DateTimeOffset CreatedNotAfter);
