using System.Net;
using Npgsql;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

[Collection(ServerCollection.Name)]
public sealed class CheckoutFlowTests(ServerFixture fixture)
{
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    [Fact]
    public async Task Multi_seller_multi_currency_checkout_succeeds_with_exact_wallets_and_ledger()
    {
        var checkoutId = Ids.New("chk");
        var (usdOrder, krwOrder, bhdOrder) = (Ids.New("po"), Ids.New("po"), Ids.New("po"));
        var (sellerUsd, sellerKrw) = (Ids.New("seller"), Ids.New("seller"));
        var body = ApiCalls.Checkout(checkoutId, "pm_card_visa",
            (usdOrder, sellerUsd, "100.00", "USD"),
            (krwOrder, sellerKrw, "5000", "KRW"),
            (bhdOrder, sellerUsd, "1.234", "BHD"));

        using var response = await _merchant.PostJsonAsync("/v1/payments", body, Ids.New("key"));
        var checkout = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("SUCCEEDED", checkout.Str("status"));
        Assert.True(checkout.GetProperty("is_payment_done").GetBoolean());
        Assert.Equal(3, checkout.GetProperty("orders").GetArrayLength());
        foreach (var order in checkout.GetProperty("orders").EnumerateArray())
        {
            Assert.Equal("SUCCESS", order.Str("status"));
            Assert.Equal(1, order.GetProperty("attempts").GetInt32());
            Assert.StartsWith("pi_", order.Str("psp_reference"), StringComparison.Ordinal);
        }

        var usd = await _merchant.GetJsonAsync($"/v1/payments/{usdOrder}");
        Assert.Equal("100.00", usd.Str("amount"));
        Assert.Equal("0.00", usd.Str("refunded_amount"));
        Assert.True(usd.GetProperty("wallet_updated").GetBoolean());
        Assert.True(usd.GetProperty("ledger_updated").GetBoolean());
        Assert.Equal(["NOT_STARTED", "EXECUTING", "SUCCESS"], usd.GetProperty("history").EnumerateArray().Select(entry => entry.Str("status")));

        foreach (var order in new[] { usdOrder, krwOrder, bhdOrder })
        {
            Assert.Single(await _psp.PaymentIntentsForAsync(order));
        }

        var walletUsd = await _merchant.GetJsonAsync($"/v1/sellers/{sellerUsd}/wallet");
        var balances = walletUsd.GetProperty("balances").EnumerateArray().ToDictionary(balance => balance.Str("currency"));
        Assert.Equal(["BHD", "USD"], balances.Keys.Order());
        Assert.Equal("100.00", balances["USD"].Str("pending"));
        Assert.Equal("0.00", balances["USD"].Str("available"));
        Assert.Equal("1.234", balances["BHD"].Str("pending"));
        var walletKrw = await _merchant.GetJsonAsync($"/v1/sellers/{sellerKrw}/wallet");
        Assert.Equal("5000", walletKrw.GetProperty("balances")[0].Str("pending"));

        var pending = await _operator.GetJsonAsync($"/v1/ledger/accounts/seller_payable:{sellerUsd}:pending/balance");
        var ledgerBalances = pending.GetProperty("balances").EnumerateArray().ToDictionary(balance => balance.Str("currency"));
        Assert.Equal("100.00", ledgerBalances["USD"].Str("credits"));
        Assert.Equal("0.00", ledgerBalances["USD"].Str("debits"));
        Assert.Equal("-100.00", ledgerBalances["USD"].Str("net"));
        Assert.Equal("1.234", ledgerBalances["BHD"].Str("credits"));

        var transactions = await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={krwOrder}");
        var transaction = Assert.Single(transactions.GetProperty("transactions").EnumerateArray());
        Assert.Equal($"payin:{krwOrder}", transaction.Str("external_id"));
        Assert.Equal("payin", transaction.Str("kind"));
        var entries = transaction.GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(2, entries.Length);
        Assert.Equal(("psp_receivable:stripe", "debit", "5000", "KRW"), (entries[0].Str("account"), entries[0].Str("direction"), entries[0].Str("amount"), entries[0].Str("currency")));
        Assert.Equal(($"seller_payable:{sellerKrw}:pending", "credit", "5000", "KRW"), (entries[1].Str("account"), entries[1].Str("direction"), entries[1].Str("amount"), entries[1].Str("currency")));

        var invariants = await _operator.GetJsonAsync("/v1/ops/invariants");
        Assert.True(invariants.GetProperty("ok").GetBoolean(), invariants.ToString());
    }

    [Theory]
    [InlineData("pm_card_chargeDeclined", "card_declined")]
    [InlineData("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")]
    public async Task Declined_card_ends_failed_and_moves_no_money(string token, string expectedCode)
    {
        var (checkoutId, orderId, seller) = (Ids.New("chk"), Ids.New("po"), Ids.New("seller"));

        using var response = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, token, (orderId, seller, "25.00", "EUR")), Ids.New("key"));
        var checkout = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("FAILED", checkout.Str("status"));
        Assert.True(checkout.GetProperty("is_payment_done").GetBoolean());
        var order = await _merchant.GetJsonAsync($"/v1/payments/{orderId}");
        Assert.Equal("FAILED", order.Str("status"));
        Assert.Equal(expectedCode, order.GetProperty("failure").Str("code"));
        Assert.False(order.GetProperty("failure").GetProperty("retryable").GetBoolean());
        Assert.Equal(1, order.GetProperty("attempts").GetInt32());
        Assert.False(order.GetProperty("wallet_updated").GetBoolean());
        Assert.False(order.GetProperty("ledger_updated").GetBoolean());
        var intent = Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
        Assert.NotEqual("succeeded", intent.Str("status"));
        Assert.Equal(0, (await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet")).GetProperty("balances").GetArrayLength());
        var transactions = await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}");
        Assert.Equal(0, transactions.GetProperty("transactions").GetArrayLength());
    }

    /// <summary>
    /// The drive wake-up stored with an order is the durable sign that it owes work (the sweep, the stuck check and the
    /// invariants read it): a paid order's row keeps only its auto-fulfillment, due fourteen days after its success, and a
    /// failed one's none. And no order keeps a reminder of its own any more.
    /// </summary>
    [Fact]
    public async Task A_finished_order_keeps_no_drive_wake_up_and_a_paid_one_keeps_its_auto_fulfillment()
    {
        var (paid, declined) = (Ids.New("po"), Ids.New("po"));
        DateTimeOffset succeededBy;
        using (var response = await _merchant.PostJsonAsync("/v1/payments",
            ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (paid, Ids.New("seller"), "12.34", "USD")), Ids.New("key")))
        {
            Assert.Equal("SUCCEEDED", (await response.JsonAsync()).Str("status"));
            succeededBy = DateTimeOffset.UtcNow;
        }

        using (var response = await _merchant.PostJsonAsync("/v1/payments",
            ApiCalls.Checkout(Ids.New("chk"), "pm_card_chargeDeclined", (declined, Ids.New("seller"), "12.34", "USD")), Ids.New("key")))
        {
            Assert.Equal("FAILED", (await response.JsonAsync()).Str("status"));
        }

        var (reason, at) = await WakeUpOfAsync(paid);
        Assert.Equal("auto_fulfill", reason);
        Assert.InRange(at!.Value, succeededBy.AddDays(14).AddMinutes(-1), succeededBy.AddDays(14));
        Assert.Equal((null, null), await WakeUpOfAsync(declined));
        Assert.Equal(0, await RemindersOfAsync(paid) + await RemindersOfAsync(declined));
    }

    private async Task<(string? Reason, DateTimeOffset? At)> WakeUpOfAsync(string paymentOrderId)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT wake_reason, wake_at FROM orleans_grain_state WHERE grain_type = 'paymentOrder' AND grain_id_ext = @id", connection);
        command.Parameters.AddWithValue("id", paymentOrderId);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"{paymentOrderId} has a row");
        return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
    }

    private async Task<long> RemindersOfAsync(string paymentOrderId)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM orleans_reminder WHERE grain_id LIKE '%/' || @id", connection);
        command.Parameters.AddWithValue("id", paymentOrderId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_payment_order_cannot_be_claimed_by_a_second_checkout()
    {
        var checkoutId = Ids.New("chk");
        var first = Ids.New("po");
        using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, "pm_card_visa", (first, Ids.New("seller"), "10.00", "USD")), Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        // The same payment order claimed by another checkout is refused, and that checkout does not come to exist.
        var otherCheckout = Ids.New("chk");
        using var conflict = await _merchant.PostJsonAsync("/v1/payments",
            ApiCalls.Checkout(otherCheckout, "pm_card_visa", (Ids.New("po"), Ids.New("seller"), "5.00", "USD"), (first, Ids.New("seller"), "10.00", "USD")),
            Ids.New("key"));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("payment_order_exists", (await conflict.JsonAsync()).Str("code"));
        await _merchant.GetJsonAsync($"/v1/checkouts/{otherCheckout}", HttpStatusCode.NotFound);
        Assert.Single(await _psp.PaymentIntentsForAsync(first));
    }

    [Fact]
    public async Task A_seller_receiving_one_merchants_payments_cannot_be_paid_by_another_merchant()
    {
        var (seller, orderId) = (Ids.New("seller"), Ids.New("po"));
        using var own = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (Ids.New("po"), seller, "10.00", "USD")), Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        var other = fixture.Server.CreateClient(TestServer.OtherMerchantKey);
        var checkoutId = Ids.New("chk");

        using var foreign = await other.PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, "pm_card_visa", (orderId, seller, "5.00", "USD")), Ids.New("key"));

        Assert.Equal(HttpStatusCode.Conflict, foreign.StatusCode);
        Assert.Equal("seller_account_conflict", (await foreign.JsonAsync()).Str("code"));
        await other.GetJsonAsync($"/v1/checkouts/{checkoutId}", HttpStatusCode.NotFound);
        Assert.Empty(await _psp.PaymentIntentsForAsync(orderId));
        var wallet = await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet");
        Assert.Equal("10.00", wallet.GetProperty("balances")[0].Str("pending"));
    }

    [Fact]
    public async Task Another_merchant_cannot_see_a_checkout_its_orders_or_wallet()
    {
        var (checkoutId, orderId, seller) = (Ids.New("chk"), Ids.New("po"), Ids.New("seller"));
        using var response = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, "tok_visa", (orderId, seller, "7.50", "GBP")), Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var other = fixture.Server.CreateClient(TestServer.OtherMerchantKey);

        var checkout = await other.GetJsonAsync($"/v1/checkouts/{checkoutId}", HttpStatusCode.NotFound);
        Assert.Equal("resource_missing", checkout.Str("code"));
        await other.GetJsonAsync($"/v1/payments/{orderId}", HttpStatusCode.NotFound);
        await other.GetJsonAsync($"/v1/sellers/{seller}/wallet", HttpStatusCode.NotFound);
        var own = await _merchant.GetJsonAsync($"/v1/checkouts/{checkoutId}");
        Assert.Equal("SUCCEEDED", own.Str("status"));
    }
}
