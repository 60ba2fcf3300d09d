using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Reconciliation;

/// <summary>
/// Each way the PSP's report can be wrong (<c>/_sim/settlement_faults</c>) gives the break of docs/reconciliation.md's table for exactly the
/// records it touched; a payment whose answer we lost is found in the report and booked by its own order.
/// </summary>
[Collection(ReconciliationServerCollection.Name)]
public sealed class SettlementFaultTests(ReconciliationServerFixture fixture) : IAsyncLifetime
{
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _psp.SetSettlementFaultsAsync(new { });
        (await _psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Dropped_rows_are_missing_in_settlement_for_a_person_and_a_rerun_files_them_once()
    {
        var (day, orders) = await DayOfBusinessAsync();
        await _psp.SetSettlementFaultsAsync(new { drop_rate = 0.4, seed = 11 });
        var report = await OurRowsAsync(day, orders);
        var run = await _operator.ReconcileAsync("psp", day);

        var shown = report.Select(row => (row["payment_metadata[payment_order_id]"], row["reporting_category"])).ToHashSet();
        var dropped = (await BookingsAsync(orders)).Where(booking => !shown.Contains((booking.PaymentOrderId, booking.Category))).ToList();
        Assert.NotEmpty(dropped);
        var breaks = await OurBreaksAsync(run, orders);
        Assert.Equal(
            dropped.Select(booking => ("missing_in_settlement", "MANUAL_REVIEW", "open", booking.PaymentOrderId, booking.ExternalId, booking.AmountMinor)).OrderBy(b => b.ExternalId),
            breaks.Select(b => (b.Str("kind"), b.Str("class"), b.Str("status"), b.Str("payment_order_id"), b.GetProperty("ours").Str("external_id"), b.GetProperty("ours").GetProperty("amount").GetInt64()))
                .OrderBy(b => b.Item5));

        // Run again: the same breaks, under the same ids, filed by the first run; none filed anew.
        var again = await _operator.ReconcileAsync("psp", day);
        var rerun = await OurBreaksAsync(again, orders);
        Assert.Equal(breaks.Select(b => b.Str("break_id")).Order(), rerun.Select(b => b.Str("break_id")).Order());
        Assert.All(rerun, b => Assert.Equal(run.Str("run_id"), b.Str("run_id")));
        var all = await _operator.GetJsonAsync("/v1/reconciliation/breaks?limit=1000");
        Assert.Equal(all.GetProperty("breaks").GetArrayLength(), all.GetProperty("breaks").EnumerateArray().Select(b => b.Str("break_id")).Distinct().Count());

        // The PSP's report mends its ways: the next run sees every booking, and the breaks close by themselves.
        await _psp.SetSettlementFaultsAsync(new { });
        await _operator.ReconcileAsync("psp", day);
        foreach (var filed in breaks)
        {
            var now = await _operator.GetJsonAsync($"/v1/reconciliation/breaks?payment_order_id={filed.Str("payment_order_id")}");
            var same = Assert.Single(now.GetProperty("breaks").EnumerateArray(), b => b.Str("break_id") == filed.Str("break_id"));
            Assert.Equal(("resolved", "matched_later", "MANUAL_REVIEW"), (same.Str("status"), same.Str("resolution"), same.Str("class")));
        }
    }

    [Fact]
    public async Task A_row_listed_twice_is_a_duplicate_to_investigate()
    {
        var (day, orders) = await DayOfBusinessAsync();
        await _psp.SetSettlementFaultsAsync(new { duplicate_rate = 0.4, seed = 5 });
        var report = await OurRowsAsync(day, orders);
        var run = await _operator.ReconcileAsync("psp", day);

        var twice = report.GroupBy(row => row["balance_transaction_id"]).Where(group => group.Count() == 2).Select(group => group.First()).ToList();
        Assert.NotEmpty(twice);
        Assert.Equal(
            twice.Select(row => ("duplicate_in_settlement", "INVESTIGATE", row["payment_metadata[payment_order_id]"], row["balance_transaction_id"], 2)).OrderBy(b => b.Item4),
            (await OurBreaksAsync(run, orders)).Select(b => (b.Str("kind"), b.Str("class"), b.Str("payment_order_id"), b.GetProperty("theirs").Str("balance_transaction_id"),
                b.GetProperty("theirs").GetProperty("copies").GetInt32())).OrderBy(b => b.Item4));
    }

    [Fact]
    public async Task A_row_with_other_money_is_an_amount_mismatch_with_both_sides()
    {
        var (day, orders) = await DayOfBusinessAsync();
        var before = await OurRowsAsync(day, orders);
        await _psp.SetSettlementFaultsAsync(new { amount_change_rate = 0.4, seed = 3 });
        var report = await OurRowsAsync(day, orders);
        var run = await _operator.ReconcileAsync("psp", day);

        var changed = report.Where(row => before.Single(original => original["balance_transaction_id"] == row["balance_transaction_id"])["gross"] != row["gross"]).ToList();
        Assert.NotEmpty(changed);
        var breaks = await OurBreaksAsync(run, orders);
        Assert.Equal(
            changed.Select(row => ("amount_mismatch", "MANUAL_REVIEW", row["balance_transaction_id"], Minor(row["gross"]))).OrderBy(b => b.Item3),
            breaks.Select(b => (b.Str("kind"), b.Str("class"), b.GetProperty("theirs").Str("balance_transaction_id"), b.GetProperty("theirs").GetProperty("gross").GetInt64())).OrderBy(b => b.Item3));
        // Ours is the booking; the fault adds a cent to the gross of a charge (our amount) or of a refund (minus our amount).
        Assert.All(breaks, b =>
        {
            var ours = b.GetProperty("ours").GetProperty("amount").GetInt64();
            var theirs = b.GetProperty("theirs");
            Assert.Equal((theirs.Str("reporting_category") == "refund" ? -ours : ours) + 1, theirs.GetProperty("gross").GetInt64());
        });
    }

    [Fact]
    public async Task Charges_of_payments_that_are_not_ours_are_missing_in_ledger_to_investigate()
    {
        var (day, orders) = await DayOfBusinessAsync();
        await _psp.SetSettlementFaultsAsync(new { unknown_charge_count = 3, seed = 8 });
        var run = await _operator.ReconcileAsync("psp", day);

        Assert.Empty(await OurBreaksAsync(run, orders));
        var unknown = (await _operator.RunBreaksAsync(run.Str("run_id"))).Where(b => b.Str("payment_order_id").StartsWith("po_unknown_", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, unknown.Count);
        Assert.All(unknown, b => Assert.Equal(("missing_in_ledger", "INVESTIGATE", "open", JsonValueKind.Null), (b.Str("kind"), b.Str("class"), b.Str("status"), b.GetProperty("ours").ValueKind)));
        Assert.Equal(3L, run.GetProperty("breaks").GetProperty("investigate").GetInt64() - (await _operator.RunBreaksAsync(run.Str("run_id"))).Count(b => b.Str("class") == "INVESTIGATE" && !b.Str("payment_order_id").StartsWith("po_unknown_", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_order_parked_after_lost_answers_is_found_by_reconciliation_and_books_itself()
    {
        var day = await _psp.PspTodayAsync();
        var (orderId, seller, checkoutId) = (Ids.New("po"), Ids.New("seller"), Ids.New("chk"));
        // The PSP takes the charge under the order's own idempotency key, and neither its answer nor its webhook reaches us;
        // then it answers too late for every retry (the test server waits 2 s), until the order is parked.
        (await _psp.PostAsJsonAsync("/_sim/faults", new { webhook_drop_rate = 1.0, seed = 2 })).EnsureSuccessStatusCode();
        var charged = await new Stripe.PaymentIntentService(SimulatorReports.StripeAt(fixture.Server.PspAddress)).CreateAsync(new Stripe.PaymentIntentCreateOptions
        {
            Amount = 1200,
            Currency = "usd",
            PaymentMethod = "pm_card_visa",
            Confirm = true,
            AllowedPaymentMethodTypes = ["card"],
            Metadata = new Dictionary<string, string> { ["payment_order_id"] = orderId, ["checkout_id"] = checkoutId, ["seller_account"] = seller },
        }, new Stripe.RequestOptions { IdempotencyKey = orderId });
        Assert.Equal("succeeded", charged.Status);
        (await _psp.PostAsJsonAsync("/_sim/faults", new { latency_ms = 3000, webhook_drop_rate = 1.0, seed = 2 })).EnsureSuccessStatusCode();
        using (var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, "pm_card_visa", (orderId, seller, "12.00", "USD")), Ids.New("key")))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        await Eventually.MatchesAsync(() => _operator.DeadLetterAsync(orderId), parked => parked is not null, TimeSpan.FromSeconds(60), $"{orderId} parked");
        (await _psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
        Assert.Empty((await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}")).GetProperty("transactions").EnumerateArray());
        await _psp.EndPspDayAsync();

        var run = await _operator.ReconcileAsync("psp", day);
        var found = Assert.Single(await OurBreaksAsync(run, [orderId]));
        Assert.Equal(("missing_in_ledger", "AUTO_FIXED", "resolved", "auto_fixed", "applied"),
            (found.Str("kind"), found.Str("class"), found.Str("status"), found.Str("resolution"), found.GetProperty("fix").Str("outcome")));
        Assert.Equal(1200L, found.GetProperty("theirs").GetProperty("gross").GetInt64());
        Assert.Equal(1L, run.GetProperty("breaks").GetProperty("auto_fixed").GetInt64());

        var order = await _merchant.GetJsonAsync($"/v1/payments/{orderId}");
        Assert.Equal("SUCCESS", order.Str("status"));
        Assert.Null(await _operator.DeadLetterAsync(orderId));
        await _operator.WaitForPayInsAsync(orderId);
        Assert.Equal("12.00", (await _merchant.WalletAsync(seller)).Pending);
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
        await _operator.AssertInvariantsAsync();
    }

    [Fact]
    public async Task A_refund_the_psp_failed_without_telling_us_is_a_status_mismatch_the_order_fixes()
    {
        var day = await _psp.PspTodayAsync();
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        using (var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_refundFail", (orderId, seller, "30.00", "USD")), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        // The PSP fails the refund a moment later; its refund.failed never reaches us.
        (await _psp.PostAsJsonAsync("/_sim/faults", new { webhook_drop_rate = 1.0, seed = 4 })).EnsureSuccessStatusCode();
        using (var refund = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "10.00" }, Ids.New("key")))
        {
            Assert.Equal("SUCCEEDED", (await refund.JsonAsync()).Str("status"));
        }

        await Eventually.MatchesAsync(() => OurRowsAsync(day, [orderId]), rows => rows.Any(row => row["reporting_category"] == "refund_failure"), TimeSpan.FromSeconds(30),
            "the PSP to fail the refund");
        (await _psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
        Assert.Equal("SUCCEEDED", (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).GetProperty("refunds")[0].Str("status"));
        await _psp.EndPspDayAsync();

        var run = await _operator.ReconcileAsync("psp", day);
        var found = Assert.Single(await OurBreaksAsync(run, [orderId]));
        Assert.Equal(("status_mismatch", "AUTO_FIXED", "resolved", "refund_failure"),
            (found.Str("kind"), found.Str("class"), found.Str("status"), found.GetProperty("theirs").Str("reporting_category")));
        var kinds = await Eventually.MatchesAsync(async () => (await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}"))
                .GetProperty("transactions").EnumerateArray().Select(transaction => transaction.Str("kind")).ToArray(),
            found => found.Length == 3, TimeSpan.FromSeconds(10), $"{orderId} booked three times");
        Assert.Equal(["payin", "refund", "refund_failed"], kinds);
        Assert.Equal("FAILED", (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).GetProperty("refunds")[0].Str("status"));
        Assert.Equal("30.00", (await _merchant.WalletAsync(seller)).Pending);
        await _operator.AssertInvariantsAsync();
    }

    [Fact]
    public async Task A_bank_statement_with_other_money_for_our_settlement_is_a_bank_amount_mismatch()
    {
        var (day, orders) = await DayOfBusinessAsync();
        var run = await _operator.ReconcileAsync("psp", day);
        Assert.Empty(await OurBreaksAsync(run, orders));

        // The bank credits the PSP's payout of the day the next day: the statement, one cent more than we booked.
        var statement = System.Xml.Linq.XDocument.Parse(await _psp.GetStringAsync($"/_sim/bank/statements/{day.AddDays(1):yyyy-MM-dd}"));
        var entry = Assert.Single(statement.Descendants().Where(element => element.Name.LocalName == "Ntry"),
            element => element.Elements().Any(child => child.Name.LocalName == "AcctSvcrRef" && child.Value.StartsWith("po_sim_", StringComparison.Ordinal)));
        var payoutId = entry.Elements().Single(child => child.Name.LocalName == "AcctSvcrRef").Value;
        var booked = (await _operator.GetJsonAsync($"/v1/ledger/transactions?automatic_payout_id={payoutId}")).GetProperty("transactions")[0]
            .GetProperty("entries").EnumerateArray().Single(e => e.Str("account") == "cash:platform");
        var ours = Minor(booked.Str("amount"));
        foreach (var amount in entry.Descendants().Where(element => element.Name.LocalName == "Amt"))
        {
            amount.Value = ((ours + 1) / 100m).ToString("0.00", CultureInfo.InvariantCulture);
        }

        using var upload = new HttpRequestMessage(HttpMethod.Post, "/v1/reconciliation/runs") { Content = new StringContent(statement.ToString(), System.Text.Encoding.UTF8, "application/xml") };
        upload.Headers.Add("Idempotency-Key", Ids.New("key"));
        using var started = await _operator.SendAsync(upload);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var bankRun = await _operator.FinishedRunAsync((await started.JsonAsync()).Str("run_id"));

        var found = Assert.Single(await _operator.RunBreaksAsync(bankRun.Str("run_id")), b => b.Str("payout_id") == payoutId);
        Assert.Equal(("bank_amount_mismatch", "MANUAL_REVIEW", "open", "bank"), (found.Str("kind"), found.Str("class"), found.Str("status"), found.Str("source")));
        Assert.Equal((ours, ours + 1, $"settlement:{payoutId}"),
            (found.GetProperty("ours").GetProperty("amount").GetInt64(), found.GetProperty("theirs").GetProperty("amount").GetInt64(), found.GetProperty("ours").Str("external_id")));
    }

    /// <summary>Five paid orders of one seller, two of them partly refunded, booked; then the PSP's day ends.</summary>
    private async Task<(DateOnly Day, string[] Orders)> DayOfBusinessAsync()
    {
        var day = await _psp.PspTodayAsync();
        var seller = Ids.New("seller");
        var orders = new List<string>();
        foreach (var amount in new[] { "10.00", "20.00", "30.00", "40.00", "50.00" })
        {
            orders.Add(await _merchant.PayAsync(seller, amount));
        }

        foreach (var orderId in orders.Take(2))
        {
            using var refund = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "1.00" }, Ids.New("key"));
            Assert.Equal("SUCCEEDED", (await refund.JsonAsync()).Str("status"));
        }

        await _operator.WaitForPayInsAsync([.. orders]);
        foreach (var orderId in orders.Take(2))
        {
            await Eventually.MatchesAsync(() => _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}"),
                page => page.GetProperty("transactions").GetArrayLength() == 2, TimeSpan.FromSeconds(30), $"the refund of {orderId} to be booked");
        }

        await _psp.EndPspDayAsync();
        return (day, [.. orders]);
    }

    /// <summary>The rows of the day's report (as the faults of the moment make it) that are of these orders.</summary>
    private async Task<List<Dictionary<string, string>>> OurRowsAsync(DateOnly day, IReadOnlyCollection<string> orders)
    {
        var (_, rows) = await SimulatorReports.ItemizedAsync(SimulatorReports.StripeAt(fixture.Server.PspAddress), day, days: 1);
        return rows.Where(row => orders.Contains(row["payment_metadata[payment_order_id]"])).ToList();
    }

    /// <summary>The run's breaks that name one of these orders.</summary>
    private async Task<List<JsonElement>> OurBreaksAsync(JsonElement run, IReadOnlyCollection<string> orders) =>
        (await _operator.RunBreaksAsync(run.Str("run_id"))).Where(b => b.GetProperty("payment_order_id").ValueKind == JsonValueKind.String && orders.Contains(b.Str("payment_order_id"))).ToList();

    /// <summary>Our pay-in and refund bookings of these orders, with the report category each stands for (one refund an order at most).</summary>
    private async Task<List<(string PaymentOrderId, string ExternalId, string Category, long AmountMinor)>> BookingsAsync(IEnumerable<string> orders)
    {
        var bookings = new List<(string, string, string, long)>();
        foreach (var orderId in orders)
        {
            var page = await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}");
            foreach (var transaction in page.GetProperty("transactions").EnumerateArray())
            {
                var category = transaction.Str("kind") switch { "payin" => "charge", "refund" => "refund", var other => other };
                bookings.Add((orderId, transaction.Str("external_id"), category, Minor(transaction.GetProperty("entries")[0].Str("amount"))));
            }
        }

        return bookings;
    }

    private static long Minor(string major) => (long)(decimal.Parse(major, CultureInfo.InvariantCulture) * 100);
}
