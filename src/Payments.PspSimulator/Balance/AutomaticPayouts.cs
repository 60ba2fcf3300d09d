namespace Payments.PspSimulator.Balance;

/// <summary>
/// The PSP's daily payout of its balance to our bank: once the simulator's clock has passed the end of a UTC day, one
/// payout per currency of the day's balance transactions (amount: the sum of their nets), each with its own balance
/// transaction of category <c>payout</c> in the last second of that day, so that the report of the day holds the payout
/// beside the rows it carries (a reconciliation of day D needs nothing from D+1). The payout itself is made, and reaches
/// the bank, at the midnight that ends the day. Lazy (whoever reads the clock or the balance sweeps first) but made once:
/// <see cref="SimulatorTransaction.CurrentPayoutsThrough"/> moves on in the same transaction.
/// </summary>
internal static class AutomaticPayouts
{
    public static void SweepDue(SimulatorTransaction changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var today = DateOnly.FromDateTime(changes.Now.UtcDateTime);
        var lastEnded = today.AddDays(-1);
        var through = changes.CurrentPayoutsThrough;
        if (through is { } done && done >= lastEnded)
        {
            return;
        }

        var groups = changes.ListBalanceTransactionsOfDays(through, today)
            .Where(transaction => transaction.ReportingCategory != BalanceRecorder.Payout)
            .GroupBy(transaction => (transaction.Day, transaction.Currency))
            .OrderBy(group => group.Key.Day)
            .ThenBy(group => group.Key.Currency, StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var amount = group.Sum(transaction => transaction.Net);
            var created = BalanceRecorder.Midnight(group.Key.Day.AddDays(1));

            // Still on the day it carries, after all of that day's rows. Nothing is added to the day later:
            // BalanceRecorder keeps every later balance transaction at or after the midnight that ends it.
            var booked = created - 1;
            var payoutId = SimulatorStore.NewId("po_sim");
            var balanceTransactionId = SimulatorStore.NewId("txn");
            changes.SaveAutomaticPayout(new SimulatedAutomaticPayout
            {
                Id = payoutId,
                Day = group.Key.Day,
                Currency = group.Key.Currency,
                Amount = amount,
                Created = created,
                BalanceTransaction = balanceTransactionId,
            });
            changes.SaveBalanceTransaction(new SimulatedBalanceTransaction
            {
                Id = balanceTransactionId,
                Created = booked,
                AvailableOn = booked,
                Currency = group.Key.Currency,
                Amount = -amount,
                Fee = 0,
                Net = -amount,
                ReportingCategory = BalanceRecorder.Payout,
                Source = payoutId,
            });
        }

        changes.MarkPaidOutThrough(lastEnded);
    }

    /// <summary>How long (real time) until the simulator's clock passes the next midnight, when a sweep is due.</summary>
    public static TimeSpan UntilNextSweep(DateTimeOffset clockNow) =>
        DateTimeOffset.FromUnixTimeSeconds(BalanceRecorder.NextMidnight(clockNow.ToUnixTimeSeconds())) - clockNow;
}
