namespace Payments.PspSimulator.Balance;

/// <summary>
/// Makes the balance transactions of the changes the PSP keeps: a charge that succeeded, a refund, a refund that
/// failed (the money comes back). Called by <see cref="SimulatorTransaction"/> as it saves an intent or a refund, so a
/// balance transaction exists iff its change was kept, and is made once (on the step into the state, never again).
/// </summary>
internal static class BalanceRecorder
{
    public const string Charge = "charge";
    public const string Refund = "refund";
    public const string RefundFailure = "refund_failure";
    public const string Payout = "payout";

    public static void IntentSaved(SimulatorTransaction changes, SimulatedPaymentIntent? before, SimulatedPaymentIntent after)
    {
        if (after.Status != "succeeded" || before?.Status == "succeeded" || after.LatestCharge is null)
        {
            return;
        }

        var fee = Currencies.ChargeFee(after.Currency, after.AmountReceived);
        Record(changes, Charge, after.LatestCharge, after.Currency, after.AmountReceived, fee, after);
    }

    public static void RefundSaved(SimulatorTransaction changes, SimulatedRefund? before, SimulatedRefund after)
    {
        var intent = changes.FindIntent(after.PaymentIntent);
        if (before is null && after.Status == "succeeded")
        {
            Record(changes, Refund, after.Id, after.Currency, -after.Amount, fee: 0, intent);
        }
        else if (before?.Status == "succeeded" && after.Status == "failed")
        {
            // The bank sent the refund back: the money is the platform's again, and Stripe does not return its fee.
            Record(changes, RefundFailure, after.Id, after.Currency, after.Amount, fee: 0, intent);
        }
    }

    /// <summary>Start of the UTC day after the one <paramref name="seconds"/> falls on, in unix seconds.</summary>
    public static long NextMidnight(long seconds) => ((seconds / 86_400) + 1) * 86_400;

    public static long Midnight(DateOnly day) => new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds();

    private static void Record(SimulatorTransaction changes, string category, string source, string currency, long amount, long fee, SimulatedPaymentIntent? intent)
    {
        // A day that ended is paid out first, so that nothing is added to a day whose payout is made.
        AutomaticPayouts.SweepDue(changes);
        var created = changes.Now.ToUnixTimeSeconds();
        if (changes.CurrentPayoutsThrough is { } through)
        {
            // Should real time step back across midnight (NTP), keep to the first day still open.
            created = Math.Max(created, Midnight(through.AddDays(1)));
        }

        changes.SaveBalanceTransaction(new SimulatedBalanceTransaction
        {
            Id = SimulatorStore.NewId("txn"),
            Created = created,
            AvailableOn = NextMidnight(created),
            Currency = currency,
            Amount = amount,
            Fee = fee,
            Net = amount - fee,
            ReportingCategory = category,
            Source = source,
            PaymentIntent = intent?.Id,
            PaymentOrderId = intent?.Metadata.GetValueOrDefault("payment_order_id"),
        });
    }
}
