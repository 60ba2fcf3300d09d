using System.Globalization;
using System.Text;

namespace Payments.LoadTest;

/// <summary>
/// The payment orders of one <c>--reconciliation</c> run, the same on both sides: what our ledger booked for each and
/// what the PSP's settlement report says of it. Every id carries the run's prefix, so runs repeat on one database.
/// </summary>
internal sealed class SettlementBenchData(string runId, int count, DateOnly day)
{
    public const string Receivable = "psp_receivable:stripe";
    private const int Sellers = 1000;

    public string RunId { get; } = runId;

    public int Count { get; } = count;

    /// <summary>The report's day: every charge was made, and booked, on it.</summary>
    public DateOnly Day { get; } = day;

    /// <summary>The PSP payout that carries every charge of the report.</summary>
    public string PayoutId => $"po_bench_{RunId}";

    public string PaymentOrderId(int i) => $"po_rc{RunId}_{i}";

    public string PaymentIntentId(int i) => $"pi_{RunId}_{i}";

    public string SellerPending(int i) => $"seller_payable:seller_rc{RunId}_{i % Sellers}:pending";

    /// <summary>Varied amounts from 1.00 to 999.99 USD.</summary>
    public static long AmountMinor(int i) => 100 + ((long)i * 37 % 99_900);

    /// <summary>The PSP's fee: 2.9 % + 0.30, rounded half up.</summary>
    public static long FeeMinor(int i) => ((AmountMinor(i) * 29) + 500) / 1000 + 30;

    /// <summary>When charge <paramref name="i"/> was made: spread over the report's day in order.</summary>
    public DateTime CreatedUtc(int i) =>
        Day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).AddSeconds((long)i * 86_399 / Math.Max(1, Count));

    /// <summary>What the payout pays: the sum of the charges' nets.</summary>
    public long PayoutMinor()
    {
        long sum = 0;
        for (var i = 0; i < Count; i++)
        {
            sum += AmountMinor(i) - FeeMinor(i);
        }

        return sum;
    }

    /// <summary>
    /// Writes the report (Stripe's itemized payout reconciliation columns) to <paramref name="path"/>, streamed: one row per
    /// charge, then the payout row. Returns the file's size in bytes.
    /// </summary>
    public long WriteReport(string path)
    {
        var available = Day.AddDays(2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + " 00:00:00";
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        using (var csv = new StreamWriter(file, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 20))
        {
            csv.NewLine = "\n";
            csv.WriteLine("balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,"
                + "payment_intent_id,automatic_payout_id,payment_metadata[payment_order_id]");
            var payout = 0L;
            for (var i = 0; i < Count; i++)
            {
                var gross = AmountMinor(i);
                var fee = FeeMinor(i);
                payout += gross - fee;
                csv.Write("txn_");
                csv.Write(RunId);
                csv.Write('_');
                csv.Write(i);
                csv.Write(',');
                csv.Write(Time(CreatedUtc(i)));
                csv.Write(',');
                csv.Write(available);
                csv.Write(",usd,");
                csv.Write(Major(gross));
                csv.Write(',');
                csv.Write(Major(fee));
                csv.Write(',');
                csv.Write(Major(gross - fee));
                csv.Write(",charge,ch_");
                csv.Write(RunId);
                csv.Write('_');
                csv.Write(i);
                csv.Write(',');
                csv.Write(PaymentIntentId(i));
                csv.Write(',');
                csv.Write(PayoutId);
                csv.Write(',');
                csv.Write(PaymentOrderId(i));
                csv.Write('\n');
            }

            var payoutAt = Day.ToDateTime(new TimeOnly(23, 59, 59), DateTimeKind.Utc);
            csv.WriteLine($"txn_{RunId}_payout,{Time(payoutAt)},{available},usd,{Major(-payout)},0.00,{Major(-payout)},payout,{PayoutId},,{PayoutId},");
        }

        return new FileInfo(path).Length;
    }

    /// <summary>Major units with two decimals, as the report writes USD: <c>12.34</c>, <c>-0.05</c>.</summary>
    public static string Major(long minor)
    {
        var magnitude = Math.Abs(minor);
        return string.Create(CultureInfo.InvariantCulture, $"{(minor < 0 ? "-" : "")}{magnitude / 100}.{magnitude % 100:D2}");
    }

    private static string Time(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
