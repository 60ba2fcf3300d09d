using System.Globalization;
using System.Net;
using System.Text.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Reconciliation;

[CollectionDefinition(Name)]
public sealed class ReconciliationServerCollection : ICollectionFixture<ReconciliationServerFixture>
{
    public const string Name = "reconciliation server";
}

/// <summary>A server whose books only ever agree with the PSP's: no test of it leaves a break behind for the next run to find.</summary>
public sealed class CleanReconciliationServerFixture : ReconciliationServerFixture;

[CollectionDefinition(Name)]
public sealed class CleanReconciliationServerCollection : ICollectionFixture<CleanReconciliationServerFixture>
{
    public const string Name = "clean reconciliation server";
}

/// <summary>A day of business reconciled against the simulator's report and statements: nothing but agreement.</summary>
[Collection(CleanReconciliationServerCollection.Name)]
public sealed class ReconciliationRunTests(CleanReconciliationServerFixture fixture)
{
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    [Fact]
    public async Task A_day_of_payments_refunds_and_payouts_reconciles_with_no_break_and_books_fees_and_settlement()
    {
        var day = await _psp.PspTodayAsync();
        var seller = Ids.New("seller");
        var first = await _merchant.PayAsync(seller, "10.00");
        var second = await _merchant.PayAsync(seller, "20.00");
        var third = await _merchant.PayAsync(seller, "5.50");
        using (var refund = await _merchant.PostJsonAsync($"/v1/payments/{second}/refunds", new { amount = "2.00" }, Ids.New("key")))
        {
            Assert.True(refund.IsSuccessStatusCode, await refund.Content.ReadAsStringAsync());
        }

        await _merchant.FulfillAsync(first);
        using (var settings = await _merchant.PutJsonAsync($"/v1/sellers/{seller}/payout_settings", new { destination = "ba_sim_ok", interval = "manual" }))
        {
            Assert.Equal(HttpStatusCode.OK, settings.StatusCode);
        }

        var payoutId = Ids.New("pay");
        using (var payout = await _merchant.PostJsonAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD", amount = "7.00" }, Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, payout.StatusCode);
        }

        await _operator.WaitForPayInsAsync(first, second, third);
        await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payouts/{payoutId}"), payout => payout.Str("status") == "PAID", TimeSpan.FromSeconds(30), $"{payoutId} paid");
        await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{second}"), order => order.GetProperty("refunds").EnumerateArray().All(r => r.Str("status") == "SUCCEEDED"),
            TimeSpan.FromSeconds(30), "the refund to succeed");
        var receivableBefore = await NetAsync("psp_receivable:stripe");
        var feesBefore = await NetAsync("psp_fees:stripe");
        var cashBefore = await NetAsync("cash:platform");
        await _psp.EndPspDayAsync();

        var run = await _operator.ReconcileAsync("psp", day);
        Assert.Equal("SUCCEEDED", run.Str("status"));
        Assert.Equal(("psp", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), (run.Str("source"), run.Str("date")));
        // Three charges, one refund, and the PSP's payout of the day.
        Assert.Equal((5L, 5L), (run.Long("lines"), run.Long("matched")));
        Assert.Equal((0L, 0L, 0L), Counts(run));
        Assert.Empty(await _operator.RunBreaksAsync(run.Str("run_id")));

        // Fees: 10.00 → 0.59, 20.00 → 0.88, 5.50 → 0.46 (2.9 % + 0.30, half up); the PSP paid out 35.50 − 2.00 − 1.93.
        Assert.Equal(193L, await NetAsync("psp_fees:stripe") - feesBefore);
        Assert.Equal(3157L, await NetAsync("cash:platform") - cashBefore);
        Assert.Equal(-3350L, await NetAsync("psp_receivable:stripe") - receivableBefore);
        var automaticPayoutId = await SettlementReferenceAsync(day.AddDays(1));
        var settlement = Assert.Single(await SettlementsAsync(automaticPayoutId));
        Assert.Equal(
            [("cash:platform", "debit", "31.57"), ("psp_fees:stripe", "debit", "1.93"), ("psp_receivable:stripe", "credit", "33.50")],
            settlement.GetProperty("entries").EnumerateArray().Select(entry => (entry.Str("account"), entry.Str("direction"), entry.Str("amount"))).OrderBy(entry => entry.Item1));

        // Our bank: the seller payout left on the day, the PSP's settlement came in the next.
        var outgoing = await _operator.ReconcileAsync("bank", day);
        Assert.Equal(("SUCCEEDED", 0L, 0L, 0L), (outgoing.Str("status"), Counts(outgoing).Item1, Counts(outgoing).Item2, Counts(outgoing).Item3));
        Assert.Equal(outgoing.Long("lines"), outgoing.Long("matched"));
        Assert.True(outgoing.Long("lines") >= 1);
        var incoming = await _operator.ReconcileAsync("bank", day.AddDays(1));
        Assert.Equal(("SUCCEEDED", 0L, 0L, 0L), (incoming.Str("status"), Counts(incoming).Item1, Counts(incoming).Item2, Counts(incoming).Item3));
        Assert.Equal(incoming.Long("lines"), incoming.Long("matched"));

        // What the PSP has not paid out yet stays owed: a payment of the new day.
        var later = await _merchant.PayAsync(seller, "4.00");
        await _operator.WaitForPayInsAsync(later);
        Assert.Equal(-3350L + 400L, await NetAsync("psp_receivable:stripe") - receivableBefore);
        await _operator.AssertInvariantsAsync();

        // Run again: the same agreement, the settlement booked once.
        var again = await _operator.ReconcileAsync("psp", day);
        Assert.Equal(("SUCCEEDED", 5L, 5L), (again.Str("status"), again.Long("lines"), again.Long("matched")));
        Assert.Single(await SettlementsAsync(automaticPayoutId));
        Assert.Equal(193L, await NetAsync("psp_fees:stripe") - feesBefore);
    }

    private static (long, long, long) Counts(JsonElement run)
    {
        var breaks = run.GetProperty("breaks");
        return (breaks.Long("auto_fixed"), breaks.Long("manual_review"), breaks.Long("investigate"));
    }

    /// <summary>The net of a ledger account in USD, in cents.</summary>
    private async Task<long> NetAsync(string account) =>
        (long)(decimal.Parse(await _operator.LedgerNetAsync(account), CultureInfo.InvariantCulture) * 100);

    private async Task<JsonElement[]> SettlementsAsync(string automaticPayoutId)
    {
        var page = await _operator.GetJsonAsync($"/v1/ledger/transactions?automatic_payout_id={automaticPayoutId}");
        return page.GetProperty("transactions").EnumerateArray().ToArray();
    }

    /// <summary>The PSP's payout credited on the bank statement of the day (the settlement of the day before).</summary>
    private async Task<string> SettlementReferenceAsync(DateOnly statementDay)
    {
        var statement = System.Xml.Linq.XDocument.Parse(await _psp.GetStringAsync($"/_sim/bank/statements/{statementDay:yyyy-MM-dd}"));
        return Assert.Single(statement.Descendants().Where(element => element.Name.LocalName == "AcctSvcrRef" && element.Parent!.Name.LocalName == "Ntry")
            .Select(element => element.Value), reference => reference.StartsWith("po_sim_", StringComparison.Ordinal));
    }
}
