using System.Globalization;
using System.Text;
using Payments.PspSimulator.Balance;

namespace Payments.PspSimulator.Reporting;

/// <summary>
/// The CSV of a <c>payout_reconciliation.itemized.5</c> run: a header, then one row per balance transaction created in
/// its interval (and by its <see cref="SimulatedReportRun.AsOf"/>), in Stripe's way: amounts in major units with the
/// currency's decimals, currency lower case, times <c>YYYY-MM-DD HH:MM:SS</c> UTC, <c>automatic_payout_id</c> empty
/// until the payout of the row's day is made. Once it is, the day's report holds the payout's own row too (category
/// <c>payout</c>, created in the day's last second, its <c>automatic_payout_id</c> its own id), so one day's file
/// reconciles alone. Made line by line, never whole, for files of millions of rows.
/// </summary>
internal sealed class ItemizedReport
{
    public const string ReportType = "payout_reconciliation.itemized.5";

    public static readonly IReadOnlyList<string> DefaultColumns =
    [
        "balance_transaction_id", "created_utc", "available_on_utc", "currency", "gross", "fee", "net", "reporting_category",
        "source_id", "payment_intent_id", "automatic_payout_id", "payment_metadata[payment_order_id]",
    ];

    private readonly SimulatedReportRun _run;
    private readonly long _asOf;
    private readonly SimulatorStore _store;

    /// <param name="asOf">The moment reported (unix seconds, simulator clock): the run's, or now for a run about to succeed.</param>
    public ItemizedReport(SimulatorStore store, SimulatedReportRun run, long asOf) => (_store, _run, _asOf) = (store, run, asOf);

    public IReadOnlyList<string> Columns => _run.Columns ?? DefaultColumns;

    /// <summary>The file's lines, each with its line break.</summary>
    public IEnumerable<string> Lines()
    {
        var line = new StringBuilder();
        yield return string.Join(',', Columns) + "\n";
        var faults = _run.Faults;
        var random = faults is null ? null : new Random(faults.Seed);
        string? lastCurrency = null;
        foreach (var row in _store.ListBalanceTransactions(_run.IntervalStart, _run.IntervalEnd).Where(MadeByAsOf))
        {
            lastCurrency = row.Currency;
            var copies = 1;
            var shown = row;
            if (random is not null && row.ReportingCategory != BalanceRecorder.Payout)
            {
                // Three draws per row whatever they decide, so one knob does not shift the draws of the others.
                var (drop, duplicate, change) = (random.NextDouble(), random.NextDouble(), random.NextDouble());
                copies = drop < faults!.DropRate ? 0 : duplicate < faults.DuplicateRate ? 2 : 1;
                if (change < faults.AmountChangeRate)
                {
                    shown = row with { Amount = row.Amount + 1, Net = row.Net + 1 };
                }
            }

            for (var copy = 0; copy < copies; copy++)
            {
                yield return Format(line, shown, PayoutOf(row));
            }
        }

        for (var unknown = 0; unknown < (faults?.UnknownChargeCount ?? 0); unknown++)
        {
            yield return Format(line, UnknownCharge(random!, lastCurrency ?? "usd"), payoutId: null);
        }
    }

    /// <summary>The file's size in bytes (UTF-8), counted without holding it.</summary>
    public long Size() => Lines().Sum(line => (long)Encoding.UTF8.GetByteCount(line));

    private static string Time(long seconds) =>
        DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>A CSV field, quoted when it has to be (metadata is the caller's text).</summary>
    private static void Field(StringBuilder line, string? value)
    {
        value ??= string.Empty;
        if (value.AsSpan().IndexOfAny(",\"\r\n") >= 0)
        {
            line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        }
        else
        {
            line.Append(value);
        }
    }

    /// <summary>
    /// Whether the row existed at the moment reported. A payout's row is dated a second before its payout is made (the
    /// midnight after), so it counts from then: a run of a day's last second, counted before the payout was made and
    /// downloaded after, must not grow by a payout row that its other rows do not name.
    /// </summary>
    private bool MadeByAsOf(SimulatedBalanceTransaction row) =>
        row.ReportingCategory == BalanceRecorder.Payout ? row.Created < _asOf : row.Created <= _asOf;

    private string? PayoutOf(SimulatedBalanceTransaction row)
    {
        if (row.ReportingCategory == BalanceRecorder.Payout)
        {
            return row.Source;
        }

        return _store.FindAutomaticPayout(row.Day, row.Currency) is { } payout && payout.Created <= _asOf ? payout.Id : null;
    }

    /// <summary>A charge of a payment that is not ours, on a day of the interval, its ids and amount drawn from the seed.</summary>
    private SimulatedBalanceTransaction UnknownCharge(Random random, string currency)
    {
        const string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        var suffix = new string(Enumerable.Range(0, 20).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
        var amount = random.NextInt64(100, 100_000);
        var fee = Currencies.ChargeFee(currency, amount);
        var created = Math.Clamp(_asOf, _run.IntervalStart, _run.IntervalEnd - 1);
        return new SimulatedBalanceTransaction
        {
            Id = "txn_unknown" + suffix,
            Created = created,
            AvailableOn = BalanceRecorder.NextMidnight(created),
            Currency = currency,
            Amount = amount,
            Fee = fee,
            Net = amount - fee,
            ReportingCategory = BalanceRecorder.Charge,
            Source = "ch_unknown" + suffix,
            PaymentIntent = "pi_unknown" + suffix,
            PaymentOrderId = "po_unknown_" + suffix,
        };
    }

    private string Format(StringBuilder line, SimulatedBalanceTransaction row, string? payoutId)
    {
        line.Clear();
        var first = true;
        foreach (var column in Columns)
        {
            if (!first)
            {
                line.Append(',');
            }

            first = false;
            Field(line, column switch
            {
                "balance_transaction_id" => row.Id,
                "created_utc" => Time(row.Created),
                "available_on_utc" => Time(row.AvailableOn),
                "currency" => row.Currency,
                "gross" => Currencies.Major(row.Amount, row.Currency),
                "fee" => Currencies.Major(row.Fee, row.Currency),
                "net" => Currencies.Major(row.Net, row.Currency),
                "reporting_category" => row.ReportingCategory,
                "source_id" => row.Source,
                "payment_intent_id" => row.PaymentIntent,
                "automatic_payout_id" => payoutId,
                "payment_metadata[payment_order_id]" => row.PaymentOrderId,
                _ => null,
            });
        }

        return line.Append('\n').ToString();
    }
}
