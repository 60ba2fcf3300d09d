using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

[Collection(ServerCollection.Name)]
public sealed class RefundTests(ServerFixture fixture)
{
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);

    [Theory]
    [InlineData("1e5")]
    [InlineData("-1.00")]
    [InlineData("0.00")]
    [InlineData("1.")]
    public async Task A_malformed_refund_amount_is_refused_before_the_key_is_taken(string amount)
    {
        var (orderId, _) = await PaidOrderAsync("9.00");
        var key = Ids.New("key");

        using var refused = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount }, key);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("validation_failed", (await refused.JsonAsync()).Str("code"));

        // Not stored under the key: the corrected request with the same key runs (no 422 for another body, no replayed 400).
        using var corrected = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "2.00" }, key);
        Assert.Equal(HttpStatusCode.Created, corrected.StatusCode);
        Assert.Equal("2.00", (await corrected.JsonAsync()).Str("amount"));
    }

    [Fact]
    public async Task Partial_refunds_add_up_and_the_ledger_and_wallet_follow_each()
    {
        var (orderId, seller) = await PaidOrderAsync("100.00");

        using var first = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "40.00", reason = "requested_by_customer" }, Ids.New("key"));
        var refund = await first.JsonAsync();
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(("40.00", "USD", "SUCCEEDED", orderId), (refund.Str("amount"), refund.Str("currency"), refund.Str("status"), refund.Str("payment_order_id")));
        await AssertBooksAsync(orderId, seller, refunded: "40.00", pending: "60.00", refundTransactions: 1);

        using var second = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "35.50" }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        await AssertBooksAsync(orderId, seller, refunded: "75.50", pending: "24.50", refundTransactions: 2);

        using var tooMuch = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "24.51" }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooMuch.StatusCode);
        Assert.Equal("refund_exceeds_payment", (await tooMuch.JsonAsync()).Str("code"));

        using var rest = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, rest.StatusCode);
        Assert.Equal("24.50", (await rest.JsonAsync()).Str("amount"));
        await AssertBooksAsync(orderId, seller, refunded: "100.00", pending: "0.00", refundTransactions: 3);

        using var nothingLeft = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, nothingLeft.StatusCode);
        Assert.True((await _operator.GetJsonAsync("/v1/ops/invariants")).GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task A_refund_is_idempotent_by_its_key()
    {
        var (orderId, seller) = await PaidOrderAsync("20.00");
        var key = Ids.New("key");

        using var first = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "5.00" }, key);
        using var replay = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "5.00" }, key);

        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        await AssertBooksAsync(orderId, seller, refunded: "5.00", pending: "15.00", refundTransactions: 1);
    }

    [Fact]
    public async Task A_refund_asked_while_the_psp_is_down_is_pending_and_finishes_once_it_is_back()
    {
        var (orderId, seller) = await PaidOrderAsync("50.00");
        using var psp = fixture.Server.CreatePspClient();
        (await psp.PostAsJsonAsync("/_sim/faults", new { error_rate = 1.0, seed = 8 })).EnsureSuccessStatusCode();
        JsonElement refund;
        try
        {
            using var response = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "20.00" }, Ids.New("key"));
            refund = await response.JsonAsync();
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal("PENDING", refund.Str("status"));
        }
        finally
        {
            (await psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
        }

        await AssertBooksAsync(orderId, seller, refunded: "20.00", pending: "30.00", refundTransactions: 1);
        var order = await _merchant.GetJsonAsync($"/v1/payments/{orderId}");
        Assert.Equal("SUCCEEDED", Assert.Single(order.GetProperty("refunds").EnumerateArray()).Str("status"));
        var intent = Assert.Single(await psp.PaymentIntentsForAsync(orderId));
        Assert.Equal(2000, intent.GetProperty("amount_refunded").GetInt64());
    }

    [Fact]
    public async Task A_refund_that_fails_after_it_succeeded_gives_the_seller_the_money_back_and_reverses_its_booking()
    {
        // pm_card_refundFail: the refund succeeds, and the PSP fails it a moment later (refund.failed), as for a closed card.
        var (orderId, seller) = await PaidOrderAsync("30.00", "pm_card_refundFail");

        using var response = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "10.00" }, Ids.New("key"));
        var refund = await response.JsonAsync();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("SUCCEEDED", refund.Str("status"));

        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
            order => order.GetProperty("refunds")[0].Str("status") == "FAILED", TimeSpan.FromSeconds(20), $"the refund of {orderId} to fail");
        Assert.Equal("0.00", order.Str("refunded_amount"));
        await Eventually.MatchesAsync(async () => (await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet")).GetProperty("balances")[0].Str("pending"),
            pending => pending == "30.00", TimeSpan.FromSeconds(10), $"{seller} pending back to 30.00");
        var kinds = await Eventually.MatchesAsync(async () => (await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}"))
                .GetProperty("transactions").EnumerateArray().Select(transaction => transaction.Str("kind")).ToArray(),
            kinds => kinds.Length == 3, TimeSpan.FromSeconds(10), $"{orderId} booked three times");
        Assert.Equal(["payin", "refund", "refund_failed"], kinds);
        var balance = await _operator.GetJsonAsync($"/v1/ledger/accounts/seller_payable:{seller}:pending/balance");
        Assert.Equal("-30.00", balance.GetProperty("balances")[0].Str("net"));
        using var psp = fixture.Server.CreatePspClient();
        Assert.Equal(0, Assert.Single(await psp.PaymentIntentsForAsync(orderId)).GetProperty("amount_refunded").GetInt64());
        Assert.True((await _operator.GetJsonAsync("/v1/ops/invariants")).GetProperty("ok").GetBoolean());

        // The money is the order's again: it can be refunded anew, up to the whole payment.
        using var again = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "30.00" }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
    }

    [Fact]
    public async Task A_refund_the_psp_never_answers_is_parked_as_a_dead_letter_and_a_replay_refunds_once()
    {
        var (orderId, seller) = await PaidOrderAsync("40.00");
        using var psp = fixture.Server.CreatePspClient();
        (await psp.PostAsJsonAsync("/_sim/faults", new { error_rate = 1.0, seed = 9 })).EnsureSuccessStatusCode();
        try
        {
            using var response = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "15.00" }, Ids.New("key"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal("PENDING", (await response.JsonAsync()).Str("status"));

            var deadLetter = await Eventually.MatchesAsync(() => _operator.DeadLetterAsync(orderId), row => row is not null, TimeSpan.FromSeconds(30), $"{orderId} to be parked");
            Assert.Equal("psp_refund", deadLetter!.Value.Str("stage"));
            Assert.Equal(12, deadLetter.Value.GetProperty("attempts").GetInt32());
            Assert.Contains("no answer from the PSP", deadLetter.Value.Str("last_error"), StringComparison.Ordinal);
            var parked = await _merchant.GetJsonAsync($"/v1/payments/{orderId}");
            Assert.Equal(("SUCCESS", "0.00", "PENDING"), (parked.Str("status"), parked.Str("refunded_amount"), parked.GetProperty("refunds")[0].Str("status")));

            // While it waits for an operator, no new refund moves money at the PSP.
            using var another = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "1.00" }, Ids.New("key"));
            Assert.Equal(HttpStatusCode.Conflict, another.StatusCode);
            Assert.Equal("payment_not_refundable", (await another.JsonAsync()).Str("code"));
        }
        finally
        {
            (await psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
        }

        using var replay = await _operator.PostJsonAsync($"/v1/ops/dead-letters/{orderId}/replay", new { }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        await AssertBooksAsync(orderId, seller, refunded: "15.00", pending: "25.00", refundTransactions: 1);
        Assert.Equal(1500, Assert.Single(await psp.PaymentIntentsForAsync(orderId)).GetProperty("amount_refunded").GetInt64());
        Assert.Null(await _operator.DeadLetterAsync(orderId));
    }

    [Fact]
    public async Task A_parked_refund_that_the_psp_reports_done_by_webhook_is_booked_and_leaves_the_dead_letters()
    {
        var (orderId, seller) = await PaidOrderAsync("12.00");
        var key = Ids.New("key");
        using var psp = fixture.Server.CreatePspClient();
        (await psp.PostAsJsonAsync("/_sim/faults", new { error_rate = 1.0, seed = 10 })).EnsureSuccessStatusCode();
        try
        {
            using var response = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "5.00" }, key);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            await Eventually.MatchesAsync(() => _operator.DeadLetterAsync(orderId), row => row is not null, TimeSpan.FromSeconds(30), $"{orderId} to be parked");
        }
        finally
        {
            (await psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
        }

        var intentId = (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).Str("psp_reference");
        var refundId = Payments.Api.Refunds.RefundsApi.RefundId("merchant_a", orderId, key);
        var payload = StripeEvents.RefundEvent("refund.updated", intentId, orderId, refundId, 500, "succeeded");
        using var delivered = await fixture.Server.CreateClient(apiKey: null).DeliverAsync(payload, StripeEvents.Signature(payload, TestServer.WebhookSecret, DateTimeOffset.UtcNow));

        Assert.Equal("applied", (await delivered.JsonAsync()).Str("outcome"));
        await AssertBooksAsync(orderId, seller, refunded: "5.00", pending: "7.00", refundTransactions: 1);
        Assert.Null(await _operator.DeadLetterAsync(orderId));
    }

    [Fact]
    public async Task A_failed_order_is_not_refundable()
    {
        var orderId = Ids.New("po");
        using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_chargeDeclined", (orderId, Ids.New("seller"), "9.00", "USD")), Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        using var refund = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "1.00" }, Ids.New("key"));

        Assert.Equal(HttpStatusCode.Conflict, refund.StatusCode);
        Assert.Equal("payment_not_refundable", (await refund.JsonAsync()).Str("code"));
    }

    [Fact]
    public async Task Ten_concurrent_refunds_never_add_up_to_more_than_the_payment()
    {
        var (orderId, seller) = await PaidOrderAsync("100.00");

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "15.00" }, Ids.New("key"))));

        Assert.Equal(6, responses.Count(response => response.StatusCode == HttpStatusCode.Created));
        Assert.Equal(4, responses.Count(response => response.StatusCode == HttpStatusCode.UnprocessableEntity));
        await AssertBooksAsync(orderId, seller, refunded: "90.00", pending: "10.00", refundTransactions: 6);
        Assert.True((await _operator.GetJsonAsync("/v1/ops/invariants")).GetProperty("ok").GetBoolean());
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_bad_refund_request_is_400_and_an_unknown_order_404()
    {
        var (orderId, _) = await PaidOrderAsync("10.00");

        using var tooPrecise = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "1.001" }, Ids.New("key"));
        using var notString = await _merchant.PostRawAsync($"/v1/payments/{orderId}/refunds", "{\"amount\": 1}", Ids.New("key"));
        using var unknown = await _merchant.PostJsonAsync($"/v1/payments/{Ids.New("po")}/refunds", new { }, Ids.New("key"));

        Assert.Equal(HttpStatusCode.BadRequest, tooPrecise.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, notString.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("0.00", (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).Str("refunded_amount"));
    }

    private async Task<(string OrderId, string Seller)> PaidOrderAsync(string amount, string token = "pm_card_visa")
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), token, (orderId, seller, amount, "USD")), Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (orderId, seller);
    }

    private async Task AssertBooksAsync(string orderId, string seller, string refunded, string pending, int refundTransactions)
    {
        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
            order => order.Str("refunded_amount") == refunded, TimeSpan.FromSeconds(10), $"{orderId} refunded {refunded}");
        Assert.Equal("SUCCESS", order.Str("status"));
        await Eventually.MatchesAsync(async () => (await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet")).GetProperty("balances")[0].Str("pending"),
            actual => actual == pending, TimeSpan.FromSeconds(10), $"{seller} pending {pending}");
        // The wallet debit and the reversing booking are applied side by side: one may land before the other.
        await Eventually.MatchesAsync(async () => (await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}"))
                .GetProperty("transactions").EnumerateArray().Count(transaction => transaction.Str("kind") == "refund"),
            count => count == refundTransactions, TimeSpan.FromSeconds(10), $"{orderId} booked {refundTransactions} refunds");
        var balance = await _operator.GetJsonAsync($"/v1/ledger/accounts/seller_payable:{seller}:pending/balance");
        // A liability: its net (debits - credits) is minus what the seller is owed.
        Assert.Equal(pending == "0.00" ? "0.00" : "-" + pending, balance.GetProperty("balances")[0].Str("net"));
    }
}

public sealed class RefundIdTests
{
    [Fact]
    public void A_refund_id_follows_from_the_merchant_the_order_and_its_idempotency_key()
    {
        var first = Payments.Api.Refunds.RefundsApi.RefundId("merchant_a", "po_1", "key-1");

        Assert.Equal(first, Payments.Api.Refunds.RefundsApi.RefundId("merchant_a", "po_1", "key-1"));
        Assert.NotEqual(first, Payments.Api.Refunds.RefundsApi.RefundId("merchant_b", "po_1", "key-1"));
        Assert.NotEqual(first, Payments.Api.Refunds.RefundsApi.RefundId("merchant_a", "po_2", "key-1"));
        Assert.NotEqual(first, Payments.Api.Refunds.RefundsApi.RefundId("merchant_a", "po_1", "key-2"));
        Assert.Matches("^re_[0-9a-f]{24}$", first);
        // The id the same request had before the order was part of it: what refunds stored then are known by.
        Assert.Equal("re_" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("merchant_a\nkey-1"u8))[..24],
            Payments.Api.Refunds.RefundsApi.LegacyRefundId("merchant_a", "key-1"));
    }
}
