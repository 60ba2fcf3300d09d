using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>Fulfillment and payouts end to end: wallet, ledger and the PSP's own record exact at every step.</summary>
[Collection(ServerCollection.Name)]
public sealed class PayoutTests(ServerFixture fixture)
{
    private static readonly TimeSpan PayoutSettles = TimeSpan.FromSeconds(30);

    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);

    [Fact]
    public async Task Pay_fulfill_and_pay_out_moves_the_money_from_pending_to_available_to_the_bank_with_every_step_booked()
    {
        var seller = Ids.New("seller");
        var orderId = await _merchant.PayAsync(seller, "100.00");
        Assert.Equal(("100.00", "0.00", "0.00", "0.00"), await _merchant.WalletAsync(seller));

        var fulfilled = await _merchant.FulfillAsync(orderId);
        Assert.Equal(JsonValueKind.String, fulfilled.GetProperty("fulfilled_at").ValueKind);
        Assert.Equal(("0.00", "100.00", "0.00", "0.00"), await _merchant.WalletAsync(seller));
        Assert.Equal(("0.00", "-100.00"), (await _operator.LedgerNetAsync($"seller_payable:{seller}:pending"), await _operator.LedgerNetAsync($"seller_payable:{seller}:available")));

        // A second fulfillment answers the order as it is and moves nothing.
        var again = await _merchant.FulfillAsync(orderId);
        Assert.Equal(fulfilled.Str("fulfilled_at"), again.Str("fulfilled_at"));
        Assert.Equal(("0.00", "100.00", "0.00", "0.00"), await _merchant.WalletAsync(seller));
        Assert.Equal(["payin", "fulfillment"], (await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}"))
            .GetProperty("transactions").EnumerateArray().Select(transaction => transaction.Str("kind")));

        using var settings = await _merchant.PutJsonAsync($"/v1/sellers/{seller}/payout_settings", new { destination = "ba_sim_ok", interval = "manual" });
        Assert.Equal(HttpStatusCode.OK, settings.StatusCode);
        var payoutId = Ids.New("pay");
        using var created = await _merchant.PostJsonAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD", amount = "60.00" }, Ids.New("key"));
        var payout = await created.JsonAsync();
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal((payoutId, seller, "60.00", "USD", "ba_sim_ok"), (payout.Str("payout_id"), payout.Str("seller_account"), payout.Str("amount"), payout.Str("currency"), payout.Str("destination")));
        Assert.Contains(payout.Str("status"), new[] { "PENDING", "IN_TRANSIT" });
        // The reservation shows by the time the 201 is sent.
        Assert.Equal(("0.00", "40.00", "60.00", "0.00"), await _merchant.WalletAsync(seller));

        var paid = await WaitForStatusAsync(payoutId, "PAID");
        Assert.Equal(["PENDING", "IN_TRANSIT", "PAID"], paid.GetProperty("history").EnumerateArray().Select(entry => entry.Str("status")));
        await WaitForWalletAsync(seller, ("0.00", "40.00", "0.00", "60.00"));
        Assert.Equal(["payout", "payout_paid"], await BookedAsync(payoutId, 2));
        Assert.Equal(("-40.00", "0.00"), (await _operator.LedgerNetAsync($"seller_payable:{seller}:available"), await _operator.LedgerNetAsync($"seller_payable:{seller}:reserved")));
        using var psp = fixture.Server.CreatePspClient();
        var atPsp = Assert.Single(await psp.PspPayoutsForAsync(payoutId));
        Assert.Equal((6000, "usd", "paid", payoutId), (atPsp.GetProperty("amount").GetInt64(), atPsp.Str("currency"), atPsp.Str("status"), atPsp.Str("idempotency_key")));
        Assert.Equal(paid.Str("psp_reference"), atPsp.Str("id"));
        await _operator.AssertInvariantsAsync();

        var listed = await _merchant.GetJsonAsync($"/v1/sellers/{seller}/payouts");
        Assert.Equal(payoutId, Assert.Single(listed.GetProperty("payouts").EnumerateArray()).Str("payout_id"));
        Assert.False(listed.GetProperty("has_more").GetBoolean());
    }

    [Fact]
    public async Task A_payout_to_a_closed_account_fails_and_its_money_is_available_again_once()
    {
        var seller = await _merchant.SellerWithAvailableAsync("80.00", "ba_sim_closed");
        var payoutId = Ids.New("pay");

        using var created = await _merchant.PostJsonAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD" }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("80.00", (await created.JsonAsync()).Str("amount"));

        var failed = await WaitForStatusAsync(payoutId, "FAILED");
        Assert.Equal("account_closed", failed.GetProperty("failure").Str("code"));
        await WaitForWalletAsync(seller, ("0.00", "80.00", "0.00", "0.00"));
        Assert.Equal(["payout", "payout_failed"], await BookedAsync(payoutId, 2));
        Assert.Equal("-80.00", await _operator.LedgerNetAsync($"seller_payable:{seller}:available"));
        using var psp = fixture.Server.CreatePspClient();
        Assert.Equal("failed", Assert.Single(await psp.PspPayoutsForAsync(payoutId)).Str("status"));

        // A late or forged-looking history never moves it back: payout.paid after FAILED is ignored, a redelivery is a
        // duplicate, and an event of another PSP payout naming ours moves nothing.
        using var webhooks = fixture.Server.CreateClient(apiKey: null);
        var late = StripeEvents.PayoutEvent("payout.paid", failed.Str("psp_reference"), payoutId, 8000, "paid");
        using (var ignored = await webhooks.DeliverAsync(late, StripeEvents.Signature(late, TestServer.WebhookSecret, DateTimeOffset.UtcNow)))
        using (var again = await webhooks.DeliverAsync(late, StripeEvents.Signature(late, TestServer.WebhookSecret, DateTimeOffset.UtcNow)))
        {
            Assert.Equal(("ignored", "duplicate"), ((await ignored.JsonAsync()).Str("outcome"), (await again.JsonAsync()).Str("outcome")));
        }

        var foreign = StripeEvents.PayoutEvent("payout.failed", "po_someone_else", payoutId, 8000, "failed", "account_closed");
        using (var other = await webhooks.DeliverAsync(foreign, StripeEvents.Signature(foreign, TestServer.WebhookSecret, DateTimeOffset.UtcNow)))
        {
            Assert.Equal("ignored", (await other.JsonAsync()).Str("outcome"));
        }

        Assert.Equal("FAILED", (await _merchant.GetJsonAsync($"/v1/payouts/{payoutId}")).Str("status"));
        Assert.Equal(("0.00", "80.00", "0.00", "0.00"), await _merchant.WalletAsync(seller));
        Assert.Equal(["payout", "payout_failed"], await PayoutBookingsAsync(payoutId));
        await _operator.AssertInvariantsAsync();
    }

    [Fact]
    public async Task A_payout_the_bank_returns_after_it_was_paid_goes_failed_and_its_money_comes_back_once()
    {
        var seller = await _merchant.SellerWithAvailableAsync("25.00", "ba_sim_fails_after_paid");
        var payoutId = Ids.New("pay");

        using var created = await _merchant.PostJsonAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD", amount = "25.00" }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var failed = await WaitForStatusAsync(payoutId, "FAILED");
        Assert.Equal(["PENDING", "IN_TRANSIT", "PAID", "FAILED"], failed.GetProperty("history").EnumerateArray().Select(entry => entry.Str("status")));
        await WaitForWalletAsync(seller, ("0.00", "25.00", "0.00", "0.00"));
        var bookings = await Eventually.MatchesAsync(() => PayoutBookingsAsync(payoutId), kinds => kinds.Length == 3, TimeSpan.FromSeconds(10), $"{payoutId} booked three times");
        Assert.Equal(["payout", "payout_paid", "payout_returned"], bookings);
        Assert.Equal(("-25.00", "0.00"), (await _operator.LedgerNetAsync($"seller_payable:{seller}:available"), await _operator.LedgerNetAsync($"seller_payable:{seller}:reserved")));
        await _operator.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Payout_errors_are_problems_with_their_codes_and_move_nothing()
    {
        var seller = await _merchant.SellerWithAvailableAsync("30.00", destination: null);
        var payoutId = Ids.New("pay");
        object Payout(string? amount, string id = "", string? sellerAccount = null, string currency = "USD") =>
            new { payout_id = id.Length == 0 ? payoutId : id, seller_account = sellerAccount ?? seller, currency, amount };

        await AssertProblemAsync(Payout("10.00"), HttpStatusCode.Conflict, "payout_destination_missing");
        using (var settings = await _merchant.PutJsonAsync($"/v1/sellers/{seller}/payout_settings", new { destination = "ba_sim_ok" }))
        {
            Assert.Equal(HttpStatusCode.OK, settings.StatusCode);
        }

        await AssertProblemAsync(Payout("30.01"), HttpStatusCode.UnprocessableEntity, "insufficient_funds");
        await AssertProblemAsync(Payout("1.001"), HttpStatusCode.BadRequest, "validation_failed", "amount");
        await AssertProblemAsync(Payout("1.00", currency: "usd"), HttpStatusCode.BadRequest, "validation_failed", "currency");
        await AssertProblemAsync(Payout("1.00", id: "pay/1"), HttpStatusCode.BadRequest, "validation_failed", "payout_id");
        // The schedule's ids are its own: a request cannot take the id of a seller's run to come.
        await AssertProblemAsync(Payout("1.00", id: $"sched_{seller}_USD_2030-01-01"), HttpStatusCode.BadRequest, "validation_failed", "payout_id");
        await AssertProblemAsync(new { payout_id = payoutId, seller_account = seller, currency = "USD", amount = 10 }, HttpStatusCode.BadRequest, "validation_failed", "amount");
        await AssertProblemAsync(Payout("1.00", sellerAccount: Ids.New("seller")), HttpStatusCode.NotFound, "resource_missing");
        using (var other = fixture.Server.CreateClient(TestServer.OtherMerchantKey))
        using (var foreign = await other.PostJsonAsync("/v1/payouts", Payout("1.00"), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        }

        Assert.Equal(("0.00", "30.00", "0.00", "0.00"), await _merchant.WalletAsync(seller));

        using (var first = await _merchant.PostJsonAsync("/v1/payouts", Payout("10.00"), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        // The same payout again, under another key: that payout, moving nothing. Another amount under its id: 409.
        using (var same = await _merchant.PostJsonAsync("/v1/payouts", Payout("10.00"), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.OK, same.StatusCode);
            Assert.Equal(payoutId, (await same.JsonAsync()).Str("payout_id"));
        }

        using (var omitted = await _merchant.PostJsonAsync("/v1/payouts", Payout(null), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.OK, omitted.StatusCode);
        }

        await AssertProblemAsync(Payout("11.00"), HttpStatusCode.Conflict, "payout_exists");
        await WaitForStatusAsync(payoutId, "PAID");
        await WaitForWalletAsync(seller, ("0.00", "20.00", "0.00", "10.00"));
        using var psp = fixture.Server.CreatePspClient();
        Assert.Single(await psp.PspPayoutsForAsync(payoutId));
        await AssertProblemAsync(Payout(null, id: Ids.New("pay"), currency: "EUR"), HttpStatusCode.UnprocessableEntity, "insufficient_funds");
        using var otherMerchant = fixture.Server.CreateClient(TestServer.OtherMerchantKey);
        await otherMerchant.GetJsonAsync($"/v1/payouts/{payoutId}", HttpStatusCode.NotFound);
        await otherMerchant.GetJsonAsync($"/v1/sellers/{seller}/payouts", HttpStatusCode.NotFound);
        await otherMerchant.GetJsonAsync($"/v1/sellers/{seller}/payout_settings", HttpStatusCode.NotFound);
        await _operator.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Fulfillment_of_an_order_that_did_not_succeed_is_409_and_of_an_unknown_one_404()
    {
        var orderId = Ids.New("po");
        using (var declined = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_chargeDeclined", (orderId, Ids.New("seller"), "9.00", "USD")), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, declined.StatusCode);
        }

        using var failed = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/fulfillment", new { }, Ids.New("key"));
        using var unknown = await _merchant.PostJsonAsync($"/v1/payments/{Ids.New("po")}/fulfillment", new { }, Ids.New("key"));
        using var noKey = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/fulfillment", new { }, idempotencyKey: null);

        Assert.Equal(HttpStatusCode.Conflict, failed.StatusCode);
        Assert.Equal("payment_not_fulfillable", (await failed.JsonAsync()).Str("code"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noKey.StatusCode);
        Assert.Equal(JsonValueKind.Null, (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).GetProperty("fulfilled_at").ValueKind);
    }

    [Fact]
    public async Task Fulfillment_makes_available_what_remains_after_refunds_and_a_later_refund_takes_from_available_even_below_zero()
    {
        var seller = Ids.New("seller");
        var orderId = await _merchant.PayAsync(seller, "50.00");
        using (var refund = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "10.00" }, Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, refund.StatusCode);
        }

        await WaitForWalletAsync(seller, ("40.00", "0.00", "0.00", "0.00"));
        await _merchant.FulfillAsync(orderId);
        Assert.Equal(("0.00", "40.00", "0.00", "0.00"), await _merchant.WalletAsync(seller));

        using (var settings = await _merchant.PutJsonAsync($"/v1/sellers/{seller}/payout_settings", new { destination = "ba_sim_ok" }))
        {
            Assert.Equal(HttpStatusCode.OK, settings.StatusCode);
        }

        var payoutId = Ids.New("pay");
        using (var created = await _merchant.PostJsonAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD" }, Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await WaitForStatusAsync(payoutId, "PAID");
        await WaitForWalletAsync(seller, ("0.00", "0.00", "0.00", "40.00"));

        // The buyer is refunded after the seller was paid: the seller owes it.
        using (var late = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "15.00" }, Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, late.StatusCode);
        }

        await WaitForWalletAsync(seller, ("0.00", "-15.00", "0.00", "40.00"));
        await Eventually.MatchesAsync(() => _operator.LedgerNetAsync($"seller_payable:{seller}:available"), net => net == "15.00", TimeSpan.FromSeconds(10), $"{seller} available booked at -15.00");
        Assert.Equal("0.00", await _operator.LedgerNetAsync($"seller_payable:{seller}:pending"));
        await _operator.AssertInvariantsAsync();

        // Nothing is available: no payout.
        using var none = await _merchant.PostJsonAsync("/v1/payouts", new { payout_id = Ids.New("pay"), seller_account = seller, currency = "USD" }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, none.StatusCode);
    }

    [Fact]
    public async Task Twenty_concurrent_requests_for_one_payout_make_one_psp_payout()
    {
        var seller = await _merchant.SellerWithAvailableAsync("20.00");
        var payoutId = Ids.New("pay");
        var body = new { payout_id = payoutId, seller_account = seller, currency = "USD", amount = "20.00" };

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _merchant.PostJsonAsync("/v1/payouts", body, Ids.New("key"))));

        Assert.Equal(1, responses.Count(response => response.StatusCode == HttpStatusCode.Created));
        Assert.Equal(19, responses.Count(response => response.StatusCode == HttpStatusCode.OK));
        await WaitForStatusAsync(payoutId, "PAID");
        await WaitForWalletAsync(seller, ("0.00", "0.00", "0.00", "20.00"));
        using var psp = fixture.Server.CreatePspClient();
        Assert.Single(await psp.PspPayoutsForAsync(payoutId));
        Assert.Equal(["payout", "payout_paid"], await BookedAsync(payoutId, 2));
        await _operator.AssertInvariantsAsync();
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Twenty_concurrent_payouts_of_one_seller_never_reserve_more_than_is_available()
    {
        var seller = await _merchant.SellerWithAvailableAsync("100.00");

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            _merchant.PostJsonAsync("/v1/payouts", new { payout_id = Ids.New("pay"), seller_account = seller, currency = "USD", amount = "10.00" }, Ids.New("key"))));

        Assert.Equal(10, responses.Count(response => response.StatusCode == HttpStatusCode.Created));
        Assert.Equal(10, responses.Count(response => response.StatusCode == HttpStatusCode.UnprocessableEntity));
        await WaitForWalletAsync(seller, ("0.00", "0.00", "0.00", "100.00"));
        var listed = await _merchant.GetJsonAsync($"/v1/sellers/{seller}/payouts?limit=100");
        Assert.Equal(10, listed.GetProperty("payouts").GetArrayLength());
        Assert.All(listed.GetProperty("payouts").EnumerateArray(), payout => Assert.Equal("10.00", payout.Str("amount")));
        await _operator.AssertInvariantsAsync();
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_payout_whose_psp_keeps_failing_is_parked_as_a_dead_letter_and_a_replay_pays_it_once()
    {
        var seller = await _merchant.SellerWithAvailableAsync("45.00");
        var payoutId = Ids.New("pay");
        using var psp = fixture.Server.CreatePspClient();
        (await psp.PostAsJsonAsync("/_sim/faults", new { error_rate = 1.0, seed = 21 })).EnsureSuccessStatusCode();
        try
        {
            using var created = await _merchant.PostJsonAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD" }, Ids.New("key"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal("PENDING", (await created.JsonAsync()).Str("status"));
            Assert.Equal(("0.00", "0.00", "45.00", "0.00"), await _merchant.WalletAsync(seller));

            var deadLetter = await Eventually.MatchesAsync(() => PayoutDeadLetterAsync(payoutId), row => row is not null, TimeSpan.FromSeconds(30), $"{payoutId} to be parked");
            Assert.Equal(("psp_payout", 12, $"payout:{payoutId}"), (deadLetter!.Value.Str("stage"), deadLetter.Value.GetProperty("attempts").GetInt32(), deadLetter.Value.Str("id")));
            Assert.Equal("PENDING", (await _merchant.GetJsonAsync($"/v1/payouts/{payoutId}")).Str("status"));
            var stuck = await _operator.GetJsonAsync("/v1/ops/stuck-payouts?older_than=PT0S");
            Assert.Contains(stuck.GetProperty("payouts").EnumerateArray(), payout => payout.Str("payout_id") == payoutId);
        }
        finally
        {
            (await psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
        }

        using var replay = await _operator.PostJsonAsync($"/v1/ops/dead-letters/payout:{payoutId}/replay", new { }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        await WaitForStatusAsync(payoutId, "PAID");
        await WaitForWalletAsync(seller, ("0.00", "0.00", "0.00", "45.00"));
        Assert.Single(await psp.PspPayoutsForAsync(payoutId));
        Assert.Null(await PayoutDeadLetterAsync(payoutId));
        await _operator.AssertInvariantsAsync();
    }

    [Fact]
    public async Task A_payout_run_pays_each_scheduled_seller_its_available_balance_once_however_often_it_runs()
    {
        var date = "2026-11-20"; // a Friday
        var daily = await _merchant.SellerWithAvailableAsync("12.00", interval: "daily");
        var weeklyToday = await _merchant.SellerWithAvailableAsync("7.50");
        var weeklyOtherDay = await _merchant.SellerWithAvailableAsync("3.00");
        using (var friday = await _merchant.PutJsonAsync($"/v1/sellers/{weeklyToday}/payout_settings", new { destination = "ba_sim_ok", interval = "weekly", weekly_anchor = "friday" }))
        using (var monday = await _merchant.PutJsonAsync($"/v1/sellers/{weeklyOtherDay}/payout_settings", new { destination = "ba_sim_ok", interval = "weekly", weekly_anchor = "monday" }))
        {
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (friday.StatusCode, monday.StatusCode));
            Assert.Equal(("weekly", "friday"), ((await friday.JsonAsync()).Str("interval"), (await friday.JsonAsync()).Str("weekly_anchor")));
        }

        var first = await RunAsync(date);
        var second = await RunAsync(date);

        var dailyPayout = $"sched_{daily}_USD_{date}";
        var weeklyPayout = $"sched_{weeklyToday}_USD_{date}";
        Assert.Contains(dailyPayout, first);
        Assert.Contains(weeklyPayout, first);
        Assert.DoesNotContain(first, id => id.Contains(weeklyOtherDay, StringComparison.Ordinal));
        Assert.Equal(first.Where(id => id == dailyPayout || id == weeklyPayout).Order(), second.Where(id => id == dailyPayout || id == weeklyPayout).Order());
        await WaitForStatusAsync(dailyPayout, "PAID");
        await WaitForStatusAsync(weeklyPayout, "PAID");
        await WaitForWalletAsync(daily, ("0.00", "0.00", "0.00", "12.00"));
        await WaitForWalletAsync(weeklyToday, ("0.00", "0.00", "0.00", "7.50"));
        Assert.Equal(("0.00", "3.00", "0.00", "0.00"), await _merchant.WalletAsync(weeklyOtherDay));
        using var psp = fixture.Server.CreatePspClient();
        Assert.Single(await psp.PspPayoutsForAsync(dailyPayout));
        Assert.Single(await psp.PspPayoutsForAsync(weeklyPayout));
        await _operator.AssertInvariantsAsync();

        using var merchantRun = await _merchant.PostJsonAsync("/v1/ops/payout-runs", new { date }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.Forbidden, merchantRun.StatusCode);
        using var badDate = await _operator.PostJsonAsync("/v1/ops/payout-runs", new { date = "20.11.2026" }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.BadRequest, badDate.StatusCode);
        var tomorrow = DateOnly.FromDateTime(DateTime.UtcNow.AddDays(1)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        using var future = await _operator.PostJsonAsync("/v1/ops/payout-runs", new { date = tomorrow }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.BadRequest, future.StatusCode);
    }

    [Fact]
    public async Task Payout_settings_are_validated_and_default_to_manual_without_a_destination()
    {
        var seller = await _merchant.SellerWithAvailableAsync("1.00", destination: null);
        var defaults = await _merchant.GetJsonAsync($"/v1/sellers/{seller}/payout_settings");
        Assert.Equal(("manual", JsonValueKind.Null), (defaults.Str("interval"), defaults.GetProperty("destination").ValueKind));

        foreach (var (body, field) in new (object Body, string Field)[]
        {
            (new { destination = "000123456789" }, "destination"),
            (new { destination = "ba_123456789" }, "destination"),
            (new { destination = "ba_sim_ok", interval = "hourly" }, "interval"),
            (new { destination = "ba_sim_ok", interval = "weekly" }, "weekly_anchor"),
            (new { destination = "ba_sim_ok", interval = "daily", weekly_anchor = "monday" }, "weekly_anchor"),
            (new { interval = "daily" }, "destination"),
        })
        {
            using var response = await _merchant.PutJsonAsync($"/v1/sellers/{seller}/payout_settings", body);
            var problem = await response.JsonAsync();
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{JsonSerializer.Serialize(body)}: {problem}");
        }

        using var unknown = await _merchant.PutJsonAsync($"/v1/sellers/{Ids.New("seller")}/payout_settings", new { destination = "ba_sim_ok" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("manual", (await _merchant.GetJsonAsync($"/v1/sellers/{seller}/payout_settings")).Str("interval"));
    }

    private async Task<string[]> RunAsync(string date)
    {
        using var response = await _operator.PostJsonAsync("/v1/ops/payout-runs", new { date }, Ids.New("key"));
        var body = await response.JsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        Assert.Equal(date, body.Str("date"));
        return body.GetProperty("payouts").EnumerateArray().Select(id => id.GetString()!).ToArray();
    }

    private async Task AssertProblemAsync(object body, HttpStatusCode status, string code, string? field = null)
    {
        using var response = await _merchant.PostJsonAsync("/v1/payouts", body, Ids.New("key"));
        var problem = await response.JsonAsync();
        Assert.True(response.StatusCode == status, $"{JsonSerializer.Serialize(body)}: expected {(int)status}, got {(int)response.StatusCode} {problem}");
        Assert.Equal("application/problem+json", response.ContentType()?.MediaType);
        Assert.Equal(code, problem.Str("code"));
        if (field is not null)
        {
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        }
    }

    private Task<JsonElement> WaitForStatusAsync(string payoutId, string status) =>
        Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payouts/{payoutId}"), payout => payout.Str("status") == status, PayoutSettles, $"{payoutId} to be {status}");

    private Task WaitForWalletAsync(string seller, (string, string, string, string) expected) =>
        Eventually.MatchesAsync(() => _merchant.WalletAsync(seller), balances => balances == expected, TimeSpan.FromSeconds(20), $"{seller}'s wallet to be {expected}");

    /// <summary>
    /// The payout's bookings once there are <paramref name="count"/>: the payout applies its wallet move and its booking side
    /// by side, so the wallet showing the move says nothing yet of the ledger.
    /// </summary>
    private Task<string[]> BookedAsync(string payoutId, int count) =>
        Eventually.MatchesAsync(() => PayoutBookingsAsync(payoutId), kinds => kinds.Length >= count, TimeSpan.FromSeconds(10), $"{payoutId} booked {count} times");

    private async Task<string[]> PayoutBookingsAsync(string payoutId) =>
        (await _operator.GetJsonAsync($"/v1/ledger/transactions?payout_id={payoutId}")).GetProperty("transactions").EnumerateArray().Select(transaction => transaction.Str("kind")).ToArray();

    private async Task<JsonElement?> PayoutDeadLetterAsync(string payoutId)
    {
        var list = await _operator.GetJsonAsync("/v1/ops/dead-letters");
        return list.GetProperty("dead_letters").EnumerateArray()
            .Where(row => row.GetProperty("payout_id").ValueKind == JsonValueKind.String && row.Str("payout_id") == payoutId)
            .Select(row => (JsonElement?)row).FirstOrDefault();
    }
}
