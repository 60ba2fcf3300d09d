using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>Payments the PSP finishes later: the hosted page, 3-D Secure, processing, and the webhooks that finish them.</summary>
[Collection(ServerCollection.Name)]
public sealed class AsyncPaymentTests(ServerFixture fixture)
{
    private const string ReturnUrl = "https://shop.example/checkout/return";

    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    [Theory]
    [InlineData("4242 4242 4242 4242", "SUCCESS", null)]
    [InlineData("4000 0000 0000 0002", "FAILED", "card_declined")]
    public async Task The_hosted_page_driven_as_a_browser_ends_by_webhook(string cardNumber, string expectedStatus, string? failureCode)
    {
        var (checkoutId, orderId, seller) = (Ids.New("chk"), Ids.New("po"), Ids.New("seller"));
        var body = new
        {
            checkout_id = checkoutId,
            buyer = new { id = "buyer_7" },
            payment_method = new { type = "hosted_page", return_url = ReturnUrl },
            orders = new[] { new { payment_order_id = orderId, seller_account = seller, amount = "64.00", currency = "USD" } },
        };

        using var created = await _merchant.PostJsonAsync("/v1/payments", body, Ids.New("key"));
        var checkout = await created.JsonAsync();
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        Assert.Equal("REQUIRES_ACTION", checkout.Str("status"));
        Assert.Equal("redirect", checkout.GetProperty("next_action").Str("type"));
        var pageUrl = new Uri(checkout.GetProperty("next_action").Str("url"));

        // The buyer's browser: the page, the form, the redirect back to the shop. Our server never sees the card.
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var page = await browser.GetStringAsync(pageUrl);
        Assert.Contains("<form", page, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("card_number", page, StringComparison.Ordinal);
        using var submitted = await browser.PostAsync(pageUrl, new FormUrlEncodedContent([new("card_number", cardNumber)]));
        Assert.Equal(HttpStatusCode.SeeOther, submitted.StatusCode);
        Assert.StartsWith(ReturnUrl, submitted.Headers.Location!.ToString(), StringComparison.Ordinal);

        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
            order => order.Str("status") == expectedStatus, TimeSpan.FromSeconds(20), $"{orderId} to end {expectedStatus}");
        await AssertFinishedByWebhookAsync(orderId);
        if (failureCode is null)
        {
            var intent = Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
            Assert.Equal(intent.Str("id"), order.Str("psp_reference"));
            await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"), o => o.GetProperty("ledger_updated").GetBoolean(), TimeSpan.FromSeconds(10), "the ledger");
            var wallet = await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet");
            Assert.Equal("64.00", wallet.GetProperty("balances")[0].Str("pending"));
        }
        else
        {
            Assert.Equal(failureCode, order.GetProperty("failure").Str("code"));

            // The order is FAILED, so its page is closed at the PSP: a second card on it charges nobody.
            await Eventually.MatchesAsync(() => browser.GetStringAsync(pageUrl), html => html.Contains("expired", StringComparison.Ordinal),
                TimeSpan.FromSeconds(10), "the hosted page to be closed");
            using var secondTry = await browser.PostAsync(pageUrl, new FormUrlEncodedContent([new("card_number", "4242 4242 4242 4242")]));
            Assert.Equal("FAILED", (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).Str("status"));
            Assert.DoesNotContain(await _psp.PaymentIntentsForAsync(orderId), intent => intent.Str("status") == "succeeded");
            Assert.Equal(0, (await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet")).GetProperty("balances").GetArrayLength());
        }

        var final = await _merchant.GetJsonAsync($"/v1/checkouts/{checkoutId}");
        Assert.Equal(JsonValueKind.Null, final.GetProperty("next_action").ValueKind);
    }

    [Theory]
    [InlineData("approve", "SUCCESS")]
    [InlineData("fail", "FAILED")]
    public async Task Three_d_secure_is_finished_by_the_challenge_and_its_webhook(string action, string expectedStatus)
    {
        var orderId = Ids.New("po");

        using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_authenticationRequired", (orderId, Ids.New("seller"), "12.00", "EUR")), Ids.New("key"));
        var checkout = await created.JsonAsync();
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        Assert.Equal("REQUIRES_ACTION", checkout.Str("status"));
        var challenge = new Uri(checkout.GetProperty("next_action").Str("url"));
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        Assert.Contains("<form", await browser.GetStringAsync(challenge), StringComparison.OrdinalIgnoreCase);
        using var answered = await browser.PostAsync(challenge, new FormUrlEncodedContent([new("action", action)]));
        Assert.True((int)answered.StatusCode is 200 or 303, $"challenge answered {(int)answered.StatusCode}");

        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
            order => order.Str("status") == expectedStatus, TimeSpan.FromSeconds(20), $"{orderId} to end {expectedStatus}");
        await AssertFinishedByWebhookAsync(orderId);
        Assert.Equal(["NOT_STARTED", "EXECUTING", "REQUIRES_ACTION", expectedStatus], order.GetProperty("history").EnumerateArray().Select(entry => entry.Str("status")));
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Fact]
    public async Task A_processing_payment_answers_202_and_its_webhook_finishes_it()
    {
        var orderId = Ids.New("po");

        using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_sim_processing", (orderId, Ids.New("seller"), "3.00", "USD")), Ids.New("key"));

        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        Assert.False((await created.JsonAsync()).GetProperty("is_payment_done").GetBoolean());
        await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
            order => order.Str("status") == "SUCCESS" && order.GetProperty("ledger_updated").GetBoolean(), TimeSpan.FromSeconds(20), $"{orderId} to succeed");
        await AssertFinishedByWebhookAsync(orderId);
    }

    [Fact]
    public async Task An_order_whose_webhook_is_dropped_still_finishes_by_asking_the_psp()
    {
        var orderId = Ids.New("po");
        await SetFaultsAsync(new { webhook_drop_rate = 1.0, seed = 5 });
        try
        {
            using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_sim_processing", (orderId, Ids.New("seller"), "4.00", "USD")), Ids.New("key"));
            Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);

            await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
                order => order.Str("status") == "SUCCESS", TimeSpan.FromSeconds(60), $"{orderId} to succeed without its webhook");
        }
        finally
        {
            await SetFaultsAsync(new { });
        }

        Assert.Equal(0, await AppliedWebhookCountAsync(orderId));
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Fact]
    public async Task Duplicated_and_reordered_deliveries_from_the_psp_change_nothing()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        await SetFaultsAsync(new { webhook_duplicate_rate = 1.0, webhook_reorder = true, seed = 9 });
        try
        {
            using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_authenticationRequired", (orderId, seller, "12.00", "USD")), Ids.New("key"));
            var challenge = new Uri((await created.JsonAsync()).GetProperty("next_action").Str("url"));
            using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
            using var approved = await browser.PostAsync(challenge, new FormUrlEncodedContent([new("action", "approve")]));
            await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
                order => order.GetProperty("ledger_updated").GetBoolean(), TimeSpan.FromSeconds(20), $"{orderId} to settle");
            using var first = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "4.00" }, Ids.New("key"));
            using var second = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "3.00" }, Ids.New("key"));
            Assert.Equal(HttpStatusCode.Created, second.StatusCode);

            // Every event about this order was delivered twice before we look at the books.
            await Eventually.MatchesAsync(() => EventsForAsync(orderId), events => events.Length >= 3 && events.All(e => e.GetProperty("deliveries").GetInt32() >= 2 && e.GetProperty("delivered").GetBoolean()),
                TimeSpan.FromSeconds(20), $"every event of {orderId} delivered twice");
        }
        finally
        {
            await SetFaultsAsync(new { });
        }

        var order = await _merchant.GetJsonAsync($"/v1/payments/{orderId}");
        Assert.Equal("SUCCESS", order.Str("status"));
        Assert.Equal("7.00", order.Str("refunded_amount"));
        Assert.Equal(["NOT_STARTED", "EXECUTING", "REQUIRES_ACTION", "SUCCESS"], order.GetProperty("history").EnumerateArray().Select(entry => entry.Str("status")));
        Assert.Equal("5.00", (await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet")).GetProperty("balances")[0].Str("pending"));
        var transactions = await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}");
        Assert.Equal(["payin", "refund", "refund"], transactions.GetProperty("transactions").EnumerateArray().Select(transaction => transaction.Str("kind")));
        Assert.True((await _operator.GetJsonAsync("/v1/ops/invariants")).GetProperty("ok").GetBoolean());
    }

    private async Task<JsonElement[]> EventsForAsync(string orderId)
    {
        var events = await _psp.GetFromJsonAsync<JsonElement>("/_sim/events");
        return events.EnumerateArray().Where(e => e.Str("body").Contains(orderId, StringComparison.Ordinal)).ToArray();
    }

    private async Task SetFaultsAsync(object faults)
    {
        using var response = await _psp.PostAsJsonAsync("/_sim/faults", faults);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The endpoint records an event as applied just after the order took it: wait for that record.</summary>
    private Task AssertFinishedByWebhookAsync(string orderId) =>
        Eventually.MatchesAsync(() => AppliedWebhookCountAsync(orderId), count => count >= 1, TimeSpan.FromSeconds(10), $"an applied webhook for {orderId}");

    private async Task<long> AppliedWebhookCountAsync(string orderId)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM webhook_events WHERE payment_order_id = $1 AND outcome = 'applied'", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = orderId });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
