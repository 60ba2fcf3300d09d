using System.Globalization;
using System.Text;
using System.Xml;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Payments.PspSimulator.Balance;

namespace Payments.PspSimulator.Bank;

/// <summary>
/// The simulator plays our bank too: <c>GET /_sim/bank/statements/{yyyy-mm-dd}</c> is a camt.053.001.08 statement of the
/// platform's account for that UTC day of the simulator's clock. The PSP's automatic payouts made that day are credited
/// (debited when refunds outweighed the day's charges), and the seller payouts paid that day debited; each entry names
/// the PSP's payout id as AcctSvcrRef and carries an end-to-end id (the automatic payout's id, or our payout id).
/// Written with an <see cref="XmlWriter"/> straight to the response.
/// </summary>
internal static class BankStatementsApi
{
    public const string Namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08";

    /// <summary>The platform's account at the simulated bank.</summary>
    public const string PlatformAccount = "NL91SIMB0417164300";

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/_sim/bank/statements/{date}", WriteAsync);

    private static async Task WriteAsync(HttpContext http, SimulatorStore store, string date)
    {
        if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            http.Response.StatusCode = 400;
            await http.Response.WriteAsync(StripeJson.ErrorBody("invalid_request_error", "parameter_invalid", "The date must be yyyy-mm-dd.", "date")).ConfigureAwait(false);
            return;
        }

        // Whoever asks for a statement may be the first to see the clock pass midnight: the PSP pays out first.
        var now = store.Update(changes =>
        {
            AutomaticPayouts.SweepDue(changes);
            return changes.Now;
        });
        var entries = Entries(store, day);

        http.Response.ContentType = "application/xml; charset=utf-8";
        var settings = new XmlWriterSettings { Async = true, Encoding = new UTF8Encoding(false), Indent = true };
        await using var xml = XmlWriter.Create(http.Response.Body, settings);
        await xml.WriteStartDocumentAsync().ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "Document", Namespace).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "BkToCstmrStmt", Namespace).ConfigureAwait(false);
        var created = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture);
        await xml.WriteStartElementAsync(null, "GrpHdr", Namespace).ConfigureAwait(false);
        await Text(xml, "MsgId", "SIMB-" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture)).ConfigureAwait(false);
        await Text(xml, "CreDtTm", created).ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);

        await xml.WriteStartElementAsync(null, "Stmt", Namespace).ConfigureAwait(false);
        await Text(xml, "Id", "SIMB-" + PlatformAccount + "-" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture)).ConfigureAwait(false);
        await Text(xml, "CreDtTm", created).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "FrToDt", Namespace).ConfigureAwait(false);
        await Text(xml, "FrDtTm", Iso(day) + "T00:00:00+00:00").ConfigureAwait(false);
        await Text(xml, "ToDtTm", Iso(day) + "T23:59:59+00:00").ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "Acct", Namespace).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "Id", Namespace).ConfigureAwait(false);
        await Text(xml, "IBAN", PlatformAccount).ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "Ownr", Namespace).ConfigureAwait(false);
        await Text(xml, "Nm", "PaymentsOrleans platform").ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);

        foreach (var (currency, closing) in entries.Closing)
        {
            // camt.053 wants balances; the opening one is what the entries before the day add up to.
            await Balance(xml, "OPBD", currency, closing - entries.Day.Where(e => e.Currency == currency).Sum(e => e.Signed), day).ConfigureAwait(false);
            await Balance(xml, "CLBD", currency, closing, day).ConfigureAwait(false);
        }

        foreach (var entry in entries.Day)
        {
            await Entry(xml, entry, day).ConfigureAwait(false);
        }

        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteEndDocumentAsync().ConfigureAwait(false);
        await xml.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>The day's entries, and the closing balance per currency of every entry up to the day's end.</summary>
    private static (List<BankEntry> Day, SortedDictionary<string, long> Closing) Entries(SimulatorStore store, DateOnly day)
    {
        var all = new List<BankEntry>();
        foreach (var payout in store.ListAutomaticPayouts().Where(payout => payout.Amount != 0))
        {
            all.Add(new BankEntry(DayOf(payout.Created), payout.Currency, payout.Amount, payout.Id, payout.Id, "PSP settlement " + Iso(payout.Day)));
        }

        foreach (var payout in store.ListPayouts().Where(payout => payout is { Status: "paid", PaidAt: not null }))
        {
            var ours = payout.Metadata.GetValueOrDefault("payout_id") ?? payout.IdempotencyKey ?? payout.Id;
            all.Add(new BankEntry(DayOf(payout.PaidAt!.Value), payout.Currency, -payout.Amount, payout.Id, ours, "Seller payout " + ours));
        }

        var closing = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in all.Where(entry => entry.Day <= day))
        {
            closing[entry.Currency] = closing.GetValueOrDefault(entry.Currency) + entry.Signed;
        }

        return (all.Where(entry => entry.Day == day).ToList(), closing);
    }

    private static async Task Entry(XmlWriter xml, BankEntry entry, DateOnly day)
    {
        var indicator = entry.Signed < 0 ? "DBIT" : "CRDT";
        var amount = Currencies.Major(Math.Abs(entry.Signed), entry.Currency);
        await xml.WriteStartElementAsync(null, "Ntry", Namespace).ConfigureAwait(false);
        await Amount(xml, entry.Currency, amount).ConfigureAwait(false);
        await Text(xml, "CdtDbtInd", indicator).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "Sts", Namespace).ConfigureAwait(false);
        await Text(xml, "Cd", "BOOK").ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await DateElement(xml, "BookgDt", day).ConfigureAwait(false);
        await DateElement(xml, "ValDt", day).ConfigureAwait(false);
        await Text(xml, "AcctSvcrRef", entry.PspReference).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "BkTxCd", Namespace).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "Domn", Namespace).ConfigureAwait(false);
        await Text(xml, "Cd", "PMNT").ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "Fmly", Namespace).ConfigureAwait(false);
        await Text(xml, "Cd", entry.Signed < 0 ? "ICDT" : "RCDT").ConfigureAwait(false);
        await Text(xml, "SubFmlyCd", "ESCT").ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "NtryDtls", Namespace).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "TxDtls", Namespace).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "Refs", Namespace).ConfigureAwait(false);
        await Text(xml, "AcctSvcrRef", entry.PspReference).ConfigureAwait(false);
        await Text(xml, "EndToEndId", entry.EndToEndId).ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await Amount(xml, entry.Currency, amount).ConfigureAwait(false);
        await Text(xml, "CdtDbtInd", indicator).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "RmtInf", Namespace).ConfigureAwait(false);
        await Text(xml, "Ustrd", entry.Remittance).ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
    }

    private static async Task Balance(XmlWriter xml, string type, string currency, long signed, DateOnly day)
    {
        await xml.WriteStartElementAsync(null, "Bal", Namespace).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "Tp", Namespace).ConfigureAwait(false);
        await xml.WriteStartElementAsync(null, "CdOrPrtry", Namespace).ConfigureAwait(false);
        await Text(xml, "Cd", type).ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
        await Amount(xml, currency, Currencies.Major(Math.Abs(signed), currency)).ConfigureAwait(false);
        await Text(xml, "CdtDbtInd", signed < 0 ? "DBIT" : "CRDT").ConfigureAwait(false);
        await DateElement(xml, "Dt", day).ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
    }

    private static async Task Amount(XmlWriter xml, string currency, string amount)
    {
        await xml.WriteStartElementAsync(null, "Amt", Namespace).ConfigureAwait(false);
        await xml.WriteAttributeStringAsync(null, "Ccy", null, currency.ToUpperInvariant()).ConfigureAwait(false);
        await xml.WriteStringAsync(amount).ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
    }

    private static async Task DateElement(XmlWriter xml, string name, DateOnly day)
    {
        await xml.WriteStartElementAsync(null, name, Namespace).ConfigureAwait(false);
        await Text(xml, "Dt", Iso(day)).ConfigureAwait(false);
        await xml.WriteEndElementAsync().ConfigureAwait(false);
    }

    private static Task Text(XmlWriter xml, string name, string value) => xml.WriteElementStringAsync(null, name, Namespace, value);

    private static string Iso(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static DateOnly DayOf(long seconds) => DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime);

    /// <summary>A booking on the platform's account: signed minor units (negative: money out).</summary>
    private sealed record BankEntry(DateOnly Day, string Currency, long Signed, string PspReference, string EndToEndId, string Remittance);
}
