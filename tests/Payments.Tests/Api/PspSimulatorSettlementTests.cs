using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Payments.PspSimulator;
using Payments.Tests.Infrastructure;
using Stripe;
using Stripe.Reporting;

namespace Payments.Tests.Api;

/// <summary>
/// The simulated PSP's settlement side, through Stripe.net as reconciliation calls it: balance transactions and their
/// fees, the itemized payout reconciliation report (report run, then its file), the simulator's clock and the PSP's daily
/// payout to our bank, the settlement faults, and the bank's camt.053 statement. Other tests' payments are in the same
/// simulator and the clock only moves forward, so every assertion is about this test's own payments and dates read
/// from the clock.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class PspSimulatorSettlementTests(ServerFixture fixture) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly HttpClient _psp = fixture.Server.CreatePspClient();
    private readonly StripeClient _stripe = StripeAt(fixture.Server.PspAddress);

    public void Dispose() => _psp.Dispose();

    [Fact]
    public async Task Charges_pay_the_fee_of_their_currency_and_refunds_pay_none()
    {
        var today = await TodayAsync();
        var (usdOrder, usdIntent) = await ChargeAsync(10_000, "usd");
        var (eurOrder, _) = await ChargeAsync(1_000, "eur");
        var (krwOrder, _) = await ChargeAsync(5_000, "krw");
        var refund = await new RefundService(_stripe).CreateAsync(new RefundCreateOptions { PaymentIntent = usdIntent.Id, Amount = 400 });

        var (header, rows) = await ReportAsync(today, days: 2);

        Assert.Equal(
            "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,automatic_payout_id,payment_metadata[payment_order_id]",
            header);
        var usd = Assert.Single(rows, row => row["payment_metadata[payment_order_id]"] == usdOrder && row["reporting_category"] == "charge");
        Assert.StartsWith("txn_", usd["balance_transaction_id"], StringComparison.Ordinal);
        Assert.Equal(("usd", "100.00", "3.20", "96.80"), (usd["currency"], usd["gross"], usd["fee"], usd["net"]));
        Assert.Equal(usdIntent.LatestChargeId, usd["source_id"]);
        Assert.Equal(usdIntent.Id, usd["payment_intent_id"]);
        Assert.Equal(string.Empty, usd["automatic_payout_id"]);
        var created = DateTime.ParseExact(usd["created_utc"], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        Assert.Equal(created.Date.AddDays(1), DateTime.ParseExact(usd["available_on_utc"], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        var eur = Assert.Single(rows, row => row["payment_metadata[payment_order_id]"] == eurOrder);
        Assert.Equal(("eur", "10.00", "0.29", "9.71"), (eur["currency"], eur["gross"], eur["fee"], eur["net"]));
        var krw = Assert.Single(rows, row => row["payment_metadata[payment_order_id]"] == krwOrder);
        Assert.Equal(("krw", "5000", "145", "4855"), (krw["currency"], krw["gross"], krw["fee"], krw["net"]));
        var refunded = Assert.Single(rows, row => row["payment_metadata[payment_order_id]"] == usdOrder && row["reporting_category"] == "refund");
        Assert.Equal(("-4.00", "0.00", "-4.00"), (refunded["gross"], refunded["fee"], refunded["net"]));
        Assert.Equal(refund.Id, refunded["source_id"]);
        Assert.Equal(usdIntent.Id, refunded["payment_intent_id"]);
    }

    [Fact]
    public async Task A_payment_through_our_api_is_a_charge_row_with_its_payment_order_id()
    {
        var today = await TodayAsync();
        using var merchant = fixture.Server.CreateClient();

        var orderId = await merchant.PayAsync(Ids.New("seller"), "100.00");

        var (_, rows) = await ReportAsync(today, days: 2);
        var row = Assert.Single(rows, row => row["payment_metadata[payment_order_id]"] == orderId);
        Assert.Equal(("charge", "usd", "100.00", "3.20", "96.80"), (row["reporting_category"], row["currency"], row["gross"], row["fee"], row["net"]));
        Assert.StartsWith("pi_", row["payment_intent_id"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refund_that_fails_gives_the_money_back_as_a_refund_failure()
    {
        var today = await TodayAsync();
        var (orderId, intent) = await ChargeAsync(2_500, "usd", "pm_card_refundFail");
        var refund = await new RefundService(_stripe).CreateAsync(new RefundCreateOptions { PaymentIntent = intent.Id });

        var rows = await Eventually.MatchesAsync(
            async () => (await ReportAsync(today, days: 2)).Rows.Where(row => row["payment_metadata[payment_order_id]"] == orderId).ToList(),
            found => found.Any(row => row["reporting_category"] == "refund_failure"),
            Patience,
            "the refund failure row");

        Assert.Equal(["charge", "refund", "refund_failure"], rows.Select(row => row["reporting_category"]));
        var failure = rows[2];
        Assert.Equal(("25.00", "0.00", "25.00"), (failure["gross"], failure["fee"], failure["net"]));
        Assert.Equal(refund.Id, failure["source_id"]);
    }

    [Fact]
    public async Task When_the_clock_passes_midnight_the_day_is_paid_out_once_and_the_bank_credits_it()
    {
        var day = await TodayAsync();
        var (orderId, _) = await ChargeAsync(7_000, "usd");

        var advanced = await AdvanceClockAsync("P1D");

        Assert.True(DateOnly.FromDateTime(advanced.UtcDateTime) > day);
        var (_, dayRows) = await ReportAsync(day, days: 1);
        var charge = Assert.Single(dayRows, row => row["payment_metadata[payment_order_id]"] == orderId);
        var payoutId = charge["automatic_payout_id"];
        Assert.StartsWith("po_sim_", payoutId, StringComparison.Ordinal);
        var carried = dayRows.Where(row => row["currency"] == "usd" && row["reporting_category"] != "payout").ToList();
        Assert.All(carried, row => Assert.Equal(payoutId, row["automatic_payout_id"]));
        var total = carried.Sum(row => Minor(row["net"]));
        var payout = Assert.Single(dayRows, row => row["reporting_category"] == "payout" && row["currency"] == "usd");
        Assert.Equal(payoutId, payout["source_id"]);
        Assert.Equal(-total, Minor(payout["gross"]));

        // Reading the clock again makes no second payout of the same day, and the next day's report does not repeat it.
        await TodayAsync();
        Assert.Single((await ReportAsync(day, days: 1)).Rows, row => row["reporting_category"] == "payout" && row["currency"] == "usd");
        var (_, nextRows) = await ReportAsync(day.AddDays(1), days: 1);
        Assert.DoesNotContain(nextRows, row => row["source_id"] == payoutId);

        var statement = await StatementAsync(day.AddDays(1));
        var credit = Assert.Single(Entries(statement), entry => entry.Reference == payoutId);
        Assert.Equal(("CRDT", "USD", total), (credit.Indicator, credit.Currency, Minor(credit.Amount)));
        Assert.Equal(payoutId, credit.EndToEndId);
        Assert.Equal(day.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), credit.BookingDate);
    }

    [Fact]
    public async Task The_report_of_a_day_that_ended_holds_its_payout_row_beside_the_rows_it_carries()
    {
        var day = await TodayAsync();
        var (orderId, intent) = await ChargeAsync(5_000, "usd");
        await new RefundService(_stripe).CreateAsync(new RefundCreateOptions { PaymentIntent = intent.Id, Amount = 1_000 });

        await AdvanceClockAsync("P1D");

        var (_, rows) = await ReportAsync(day, days: 1);
        var usd = rows.Where(row => row["currency"] == "usd").ToList();
        var payout = Assert.Single(usd, row => row["reporting_category"] == "payout");
        var payoutId = payout["source_id"];
        Assert.StartsWith("po_sim_", payoutId, StringComparison.Ordinal);
        Assert.Equal(payoutId, payout["automatic_payout_id"]);
        var lastSecond = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + " 23:59:59";
        Assert.Equal((lastSecond, lastSecond), (payout["created_utc"], payout["available_on_utc"]));
        Assert.Equal((string.Empty, "0.00"), (payout["payment_intent_id"], payout["fee"]));

        // Every other row of the day names the payout, and the payout is what they add up to: the day reconciles alone.
        var carried = usd.Where(row => row != payout).ToList();
        Assert.All(carried, row => Assert.Equal(payoutId, row["automatic_payout_id"]));
        Assert.Equal(-carried.Sum(row => Minor(row["net"])), Minor(payout["gross"]));
        Assert.Equal(payout["gross"], payout["net"]);
        Assert.Equal(
            ["charge", "refund"],
            carried.Where(row => row["payment_metadata[payment_order_id]"] == orderId).Select(row => row["reporting_category"]));
        Assert.Same(payout, usd[^1]);
    }

    [Fact]
    public async Task A_seller_payout_paid_is_debited_on_the_bank_statement_of_its_day()
    {
        var payoutId = Ids.New("pay");
        var created = await new PayoutService(_stripe).CreateAsync(new PayoutCreateOptions
        {
            Amount = 4_321,
            Currency = "usd",
            Destination = "ba_sim_ok",
            Metadata = new Dictionary<string, string> { ["payout_id"] = payoutId },
        });
        await Eventually.MatchesAsync(() => new PayoutService(_stripe).GetAsync(created.Id), payout => payout.Status == "paid", Patience, "the payout to be paid");
        var today = await TodayAsync();

        // The day it was paid on: today, or yesterday if the clock has just passed midnight.
        var entries = Entries(await StatementAsync(today)).Concat(Entries(await StatementAsync(today.AddDays(-1))));

        var debit = Assert.Single(entries, entry => entry.Reference == created.Id);
        Assert.Equal(("DBIT", "USD", "43.21", payoutId), (debit.Indicator, debit.Currency, debit.Amount, debit.EndToEndId));
    }

    [Fact]
    public async Task Settlement_faults_drop_duplicate_change_and_add_rows_then_turn_off()
    {
        var today = await TodayAsync();
        var orders = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            orders.Add((await ChargeAsync(1_000, "usd")).OrderId);
        }

        try
        {
            await SetSettlementFaultsAsync("""{ "drop_rate": 1 }""");
            Assert.Empty(Ours(await ReportAsync(today, days: 2), orders));

            await SetSettlementFaultsAsync("""{ "duplicate_rate": 1 }""");
            var duplicated = Ours(await ReportAsync(today, days: 2), orders);
            Assert.Equal(6, duplicated.Count);
            Assert.All(duplicated.GroupBy(row => row["balance_transaction_id"]), pair => Assert.Equal(2, pair.Count()));

            await SetSettlementFaultsAsync("""{ "amount_change_rate": 1 }""");
            var changed = Ours(await ReportAsync(today, days: 2), orders);
            Assert.All(changed, row => Assert.Equal(("10.01", "0.59", "9.42"), (row["gross"], row["fee"], row["net"])));

            await SetSettlementFaultsAsync("""{ "unknown_charge_count": 3, "seed": 7 }""");
            var withUnknown = (await ReportAsync(today, days: 2)).Rows;
            var again = (await ReportAsync(today, days: 2)).Rows;
            var unknown = withUnknown.Where(row => row["payment_metadata[payment_order_id]"].StartsWith("po_unknown_", StringComparison.Ordinal)).ToList();
            Assert.Equal(3, unknown.Count);
            Assert.All(unknown, row => Assert.Equal("charge", row["reporting_category"]));
            Assert.Equal(
                unknown.Select(row => row["balance_transaction_id"]),
                again.Where(row => row["payment_metadata[payment_order_id]"].StartsWith("po_unknown_", StringComparison.Ordinal)).Select(row => row["balance_transaction_id"]));
            Assert.Equal(3, Ours((string.Empty, withUnknown), orders).Count);

            // Half the rows dropped: the same ones in every report made with the same seed.
            await SetSettlementFaultsAsync("""{ "drop_rate": 0.5, "seed": 11 }""");
            var first = Ours(await ReportAsync(today, days: 2), orders).Select(row => row["balance_transaction_id"]).ToList();
            var second = Ours(await ReportAsync(today, days: 2), orders).Select(row => row["balance_transaction_id"]).ToList();
            Assert.Equal(first, second);
        }
        finally
        {
            await SetSettlementFaultsAsync("{}");
        }

        var clean = Ours(await ReportAsync(today, days: 2), orders);
        Assert.Equal(3, clean.Count);
        Assert.All(clean, row => Assert.Equal(("10.00", "0.59", "9.41"), (row["gross"], row["fee"], row["net"])));
    }

    [Fact]
    public async Task Bad_requests_are_refused()
    {
        var wrongType = await Assert.ThrowsAsync<StripeException>(() => new ReportRunService(_stripe).CreateAsync(new ReportRunCreateOptions
        {
            ReportType = "balance.summary.1",
            Parameters = new ReportRunParametersOptions { IntervalStart = DateTime.UtcNow.AddDays(-1), IntervalEnd = DateTime.UtcNow },
        }));
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.HttpStatusCode);

        using var back = await _psp.PostAsync("/_sim/clock", new StringContent("""{ "advance": "-P1D" }""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, back.StatusCode);
        using var faults = await _psp.PostAsync("/_sim/settlement_faults", new StringContent("""{ "drop_rate": 2 }""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, faults.StatusCode);
        using var date = await _psp.GetAsync("/_sim/bank/statements/yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, date.StatusCode);
    }

    [Fact]
    public async Task Balance_transactions_payouts_and_the_clock_survive_a_restart()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "pspsim-settlement-" + Guid.NewGuid().ToString("N"));
        try
        {
            var firstUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
            DateOnly day;
            string orderId;
            await using (var first = await StartSimulatorAsync(firstUrl, dataDirectory))
            {
                using var psp = new HttpClient { BaseAddress = firstUrl };
                day = DateOnly.FromDateTime((await ClockOf(psp)).UtcDateTime);
                orderId = (await ChargeAsync(StripeAt(firstUrl), 1_234, "usd")).OrderId;
                using var moved = await psp.PostAsync("/_sim/clock", new StringContent("""{ "advance": "P1D" }""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
            }

            var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
            await using var restarted = await StartSimulatorAsync(url, dataDirectory);
            using var client = new HttpClient { BaseAddress = url };
            var clock = await client.GetJsonAsync("/_sim/clock");
            Assert.Equal("P1D", clock.Str("offset"));
            var (_, rows) = await ReportAsync(StripeAt(url), day, days: 1);
            var charge = Assert.Single(rows, row => row["reporting_category"] == "charge");
            Assert.Equal((orderId, "12.34", "0.66"), (charge["payment_metadata[payment_order_id]"], charge["gross"], charge["fee"]));
            var payout = Assert.Single(rows, row => row["reporting_category"] == "payout");
            Assert.Equal(charge["automatic_payout_id"], payout["source_id"]);
            Assert.Equal("-11.68", payout["gross"]);
        }
        finally
        {
            if (Directory.Exists(dataDirectory))
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
        }
    }

    private static StripeClient StripeAt(Uri baseUrl) => SimulatorReports.StripeAt(baseUrl);

    private static async Task<PspSimulatorHost> StartSimulatorAsync(Uri url, string dataDirectory)
    {
        var app = PspSimulatorApplication.Build([], url.ToString().TrimEnd('/'), dataDirectory);
        await app.StartAsync();
        return new PspSimulatorHost(app);
    }

    /// <summary>Amounts of a report in minor units (two decimals: the tests here use USD).</summary>
    private static long Minor(string major) => (long)(decimal.Parse(major, CultureInfo.InvariantCulture) * 100);

    private static List<Dictionary<string, string>> Ours((string Header, List<Dictionary<string, string>> Rows) report, List<string> orders) =>
        report.Rows.Where(row => orders.Contains(row["payment_metadata[payment_order_id]"])).ToList();

    private static async Task<DateTimeOffset> ClockOf(HttpClient psp) =>
        DateTimeOffset.Parse((await psp.GetJsonAsync("/_sim/clock")).Str("now"), CultureInfo.InvariantCulture);

    private static async Task<(string OrderId, PaymentIntent Intent)> ChargeAsync(StripeClient stripe, long amount, string currency, string token = "pm_card_visa")
    {
        var orderId = Ids.New("po");
        var intent = await new PaymentIntentService(stripe).CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = amount,
            Currency = currency,
            PaymentMethod = token,
            Confirm = true,
            Metadata = new Dictionary<string, string> { ["payment_order_id"] = orderId },
        });
        Assert.Equal("succeeded", intent.Status);
        return (orderId, intent);
    }

    private static Task<(string Header, List<Dictionary<string, string>> Rows)> ReportAsync(StripeClient stripe, DateOnly from, int days) =>
        SimulatorReports.ItemizedAsync(stripe, from, days);

    private static List<BankEntry> Entries(XDocument statement)
    {
        XNamespace ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08";
        Assert.Equal(ns + "Document", statement.Root!.Name);
        return statement.Descendants(ns + "Ntry").Select(entry => new BankEntry(
            entry.Element(ns + "AcctSvcrRef")!.Value,
            entry.Element(ns + "CdtDbtInd")!.Value,
            entry.Element(ns + "Amt")!.Attribute("Ccy")!.Value,
            entry.Element(ns + "Amt")!.Value,
            entry.Descendants(ns + "EndToEndId").Single().Value,
            entry.Element(ns + "BookgDt")!.Element(ns + "Dt")!.Value)).ToList();
    }

    private Task<(string OrderId, PaymentIntent Intent)> ChargeAsync(long amount, string currency, string token = "pm_card_visa") =>
        ChargeAsync(_stripe, amount, currency, token);

    private Task<(string Header, List<Dictionary<string, string>> Rows)> ReportAsync(DateOnly from, int days) => ReportAsync(_stripe, from, days);

    private async Task<DateOnly> TodayAsync() => DateOnly.FromDateTime((await ClockOf(_psp)).UtcDateTime);

    private async Task<DateTimeOffset> AdvanceClockAsync(string duration)
    {
        using var response = await _psp.PostAsJsonAsync("/_sim/clock", new { advance = duration });
        var body = await response.JsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return DateTimeOffset.Parse(body.Str("now"), CultureInfo.InvariantCulture);
    }

    private async Task SetSettlementFaultsAsync(string json)
    {
        using var response = await _psp.PostAsync("/_sim/settlement_faults", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<XDocument> StatementAsync(DateOnly day)
    {
        using var response = await _psp.GetAsync($"/_sim/bank/statements/{day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        return await XDocument.LoadAsync(body, LoadOptions.None, CancellationToken.None);
    }

    private sealed record BankEntry(string Reference, string Indicator, string Currency, string Amount, string EndToEndId, string BookingDate);

    private sealed class PspSimulatorHost(Microsoft.AspNetCore.Builder.WebApplication app) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
