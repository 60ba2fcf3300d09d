using Payments.Grains.DeadLetters;
using Payments.Grains.PaymentOrders;
using Payments.Psp;

namespace Payments.Grains.Payouts;

/// <summary>
/// How often a payout tries again before it is parked for an operator, and how long it waits in between. Two budgets,
/// both spent against the payment orders' retry policy (payouts share it) and both renewed when the payout is un-parked:
/// PSP attempts whose outcome stayed unknown, and rounds of wallet/ledger moves that failed.
/// </summary>
internal static class PayoutRetryBudget
{
    /// <summary>The PSP attempts counted toward the limit: those since the budget last started.</summary>
    public static int PspAttemptsSpent(PayoutState state) => state.Attempts - state.AttemptsAtBudgetStart;

    /// <summary>
    /// After an attempt whose outcome is unknown (the PSP may have accepted it, so it is never a failure): parks the payout
    /// when its budget is spent, or sets when to ask again with the same idempotency key, never sooner than the PSP asked.
    /// </summary>
    public static RetryDecision AfterUnknownPspOutcome(
        PayoutState state, PspPayoutOutcome outcome, PaymentOrderOptions.RetryOptions retry, Random random, DateTimeOffset now)
    {
        state.LastError = outcome.FailureMessage ?? outcome.FailureCode ?? "unknown PSP outcome";
        var attempts = PspAttemptsSpent(state);
        if (attempts >= retry.AttemptsMax)
        {
            PayoutParking.Park(state, DeadLetterStore.StagePspPayout, now);
            return new RetryDecision.Parked();
        }

        var delay = RetryDelay.Next(attempts, retry.DelayBase, retry.DelayMax, outcome.RetryAfter, random);
        state.NextRetryAt = now + delay;
        return new RetryDecision.RetryAfter(delay);
    }

    /// <summary>
    /// After a round of wallet/ledger moves in which one failed: what failed stays owed and is applied again after the
    /// delay (or, after a crash, by the reminder), until the budget is spent and the payout is parked.
    /// </summary>
    public static RetryDecision AfterEffectsFailed(
        PayoutState state, Exception failure, PaymentOrderOptions.RetryOptions retry, Random random, DateTimeOffset now)
    {
        state.EffectFailures++;
        state.LastError = $"{failure.GetType().Name}: {failure.Message}";
        if (state.EffectFailures >= retry.AttemptsMax)
        {
            PayoutParking.Park(state, DeadLetterStore.StageEffects, now);
            return new RetryDecision.Parked();
        }

        return new RetryDecision.RetryAfter(RetryDelay.Next(state.EffectFailures, retry.DelayBase, retry.DelayMax, retryAfter: null, random));
    }

    /// <summary>
    /// When to write owed events again after <paramref name="failuresInARow"/> failed writes: sooner than the reminder,
    /// backing off. Events have no budget: they are never parked, and the drive reminder stays while any is owed.
    /// </summary>
    public static TimeSpan EventWriteDelay(int failuresInARow, PaymentOrderOptions.RetryOptions retry, Random random) =>
        RetryDelay.Next(failuresInARow, retry.DelayBase, retry.DelayMax, retryAfter: null, random);

    /// <summary>A fresh budget: the attempts so far stay on record, the count toward the limit starts again.</summary>
    public static void Renew(PayoutState state)
    {
        state.AttemptsAtBudgetStart = state.Attempts;
        state.EffectFailures = 0;
    }
}

/// <summary>What a payout does after a failed try: wait and try again, or nothing more until an operator or the PSP says.</summary>
internal abstract record RetryDecision
{
    public sealed record RetryAfter(TimeSpan Delay) : RetryDecision;

    /// <summary>The budget is spent: the payout is parked as a dead letter.</summary>
    public sealed record Parked : RetryDecision;
}
