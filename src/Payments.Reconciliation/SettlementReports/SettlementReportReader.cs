using System.Globalization;
using System.Runtime.CompilerServices;
using CsvHelper;
using Payments.Core.Money;
using Payments.Reconciliation.BankStatements;

namespace Payments.Reconciliation.SettlementReports;

/// <summary>
/// Reads a settlement report (Stripe's itemized payout reconciliation CSV) one row at a time from a stream: the header
/// names the columns (in any order, others ignored), amounts are in major units with the currency's decimals, times
/// <c>YYYY-MM-DD HH:MM:SS</c> UTC. A row that cannot be read stops the reading with
/// <see cref="InvalidSettlementReportException"/> where it shows, so the caller must not keep what it read before
/// that until the enumeration has finished.
/// </summary>
public sealed class SettlementReportReader(Stream reportFile)
{
    public static readonly IReadOnlyList<string> RequiredColumns =
    [
        "balance_transaction_id", "created_utc", "currency", "gross", "fee", "net", "reporting_category",
    ];

    private bool _started;

    /// <summary>The latest UTC day a row was created on, once the rows have been read; null for a report without rows.</summary>
    public DateOnly? LatestCreatedDay { get; private set; }

    public async IAsyncEnumerable<SettlementLine> ReadLinesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (_started)
        {
            throw new InvalidOperationException("A settlement report reader reads its stream once.");
        }

        _started = true;
        await using var csv = CsvReader.Create(reportFile, new CsvReaderOptions
        {
            HasHeader = true,
            // Stripe's reports are comma-separated; a guessed separator (or a "sep=" first line) would read another file.
            Separator = ',',
            MalformedData = CsvMalformedDataHandling.Throw,
            FieldCountMismatch = CsvFieldCountHandling.Throw,
            // A settlement row is a few hundred bytes; a megabyte is a file that is not one (an unclosed quote).
            MaxRecordSize = 1 << 20,
        }, leaveOpen: true);
        Columns columns;
        try
        {
            await csv.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
            columns = Columns.Of(csv.Headers);
        }
        catch (CsvFormatException exception)
        {
            throw new InvalidSettlementReportException("the header cannot be read: " + exception.Message, null, exception);
        }

        while (true)
        {
            bool more;
            try
            {
                more = await csv.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (CsvFormatException exception)
            {
                throw new InvalidSettlementReportException("malformed CSV: " + exception.Message, csv.RowNumber, exception);
            }

            if (!more)
            {
                yield break;
            }

            var line = Read(csv, columns);
            var day = DateOnly.FromDateTime(line.CreatedUtc.UtcDateTime);
            if (LatestCreatedDay is not { } latest || day > latest)
            {
                LatestCreatedDay = day;
            }

            yield return line;
        }
    }

    private static SettlementLine Read(CsvReader csv, Columns columns)
    {
        var row = csv.RowNumber;
        string? Text(int index) => index < 0 ? null : csv.GetStringOrNull(index) is { Length: > 0 } value ? value : null;
        string Required(int index, string name) => Text(index) ?? throw new InvalidSettlementReportException($"{name} is empty", row);

        var currencyCode = Required(columns.Currency, "currency").ToUpperInvariant();
        if (!Currency.TryGet(currencyCode, out var currency))
        {
            throw new InvalidSettlementReportException($"currency '{currencyCode}' is not one we know", row);
        }

        long Amount(int index, string name)
        {
            var text = Required(index, name);
            var negative = text.StartsWith('-');
            if (!StatementAmount.TryParseMinorUnits(negative ? text[1..] : text, currency.MinorDigits, out var minor, out var error))
            {
                throw new InvalidSettlementReportException($"{name} '{text}': {error}", row);
            }

            return negative ? -minor : minor;
        }

        DateTimeOffset? Time(int index, string name)
        {
            if (Text(index) is not { } text)
            {
                return null;
            }

            return DateTime.TryParseExact(text, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
                ? new DateTimeOffset(time, TimeSpan.Zero)
                : throw new InvalidSettlementReportException($"{name} '{text}' is not YYYY-MM-DD HH:MM:SS", row);
        }

        var (gross, fee, net) = (Amount(columns.Gross, "gross"), Amount(columns.Fee, "fee"), Amount(columns.Net, "net"));
        if (gross - fee != net)
        {
            // The settlement books fees and nets from these columns: they must add up.
            throw new InvalidSettlementReportException($"gross {gross} less fee {fee} is not net {net} (minor units)", row);
        }

        return new SettlementLine(
            checked((int)row),
            Required(columns.BalanceTransactionId, "balance_transaction_id"),
            Time(columns.CreatedUtc, "created_utc") ?? throw new InvalidSettlementReportException("created_utc is empty", row),
            Time(columns.AvailableOnUtc, "available_on_utc"),
            currency.Code,
            gross,
            fee,
            net,
            Required(columns.ReportingCategory, "reporting_category"),
            Text(columns.SourceId),
            Text(columns.PaymentIntentId),
            Text(columns.AutomaticPayoutId),
            Text(columns.PaymentOrderId));
    }

    /// <summary>Where each column is; -1 for an optional column the report does not have.</summary>
    private sealed record Columns(
        int BalanceTransactionId, int CreatedUtc, int AvailableOnUtc, int Currency, int Gross, int Fee, int Net,
        int ReportingCategory, int SourceId, int PaymentIntentId, int AutomaticPayoutId, int PaymentOrderId)
    {
        public static Columns Of(IReadOnlyList<string> headers)
        {
            int Find(string name)
            {
                for (var index = 0; index < headers.Count; index++)
                {
                    if (string.Equals(headers[index].Trim(), name, StringComparison.OrdinalIgnoreCase))
                    {
                        return index;
                    }
                }

                return -1;
            }

            var missing = RequiredColumns.Where(name => Find(name) < 0).ToList();
            if (missing.Count > 0)
            {
                throw new InvalidSettlementReportException("the header lacks " + string.Join(", ", missing));
            }

            return new Columns(
                Find("balance_transaction_id"), Find("created_utc"), Find("available_on_utc"), Find("currency"), Find("gross"),
                Find("fee"), Find("net"), Find("reporting_category"), Find("source_id"), Find("payment_intent_id"),
                Find("automatic_payout_id"), Find("payment_metadata[payment_order_id]"));
        }
    }
}
