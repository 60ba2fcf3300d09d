using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>
/// A server where a buyer has 4 s to finish a payment (production: a day) and the PSP is never polled meanwhile, so that
/// only the deadline ends an unfinished payment; reminders every 2 s; wallets forget an operation as soon as its sender
/// has stored it (production: an hour later).
/// </summary>
public sealed class AbandonedPaymentsFixture : DedicatedServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["PaymentOrders:ActionTimeout"] = "00:00:04",
        ["PaymentOrders:PspPollAfter"] = "01:00:00",
        ["Server:ReminderPeriodMin"] = "00:00:01",
        ["PaymentOrders:ReminderPeriod"] = "00:00:02",
        // The wallets of this server keep their operation ids in their state, as before grain_operations: WalletDedupTests.
        ["Wallets:RecordOperationsInTable"] = "false",
        ["Wallets:ForgetAfter"] = "00:00:00",
    };
}

[CollectionDefinition(Name)]
public sealed class AbandonedPaymentsCollection : ICollectionFixture<AbandonedPaymentsFixture>
{
    public const string Name = "abandoned payments server";
}

/// <summary>Payments the buyer never finishes, and a hosted page paid after its order had failed.</summary>
[Collection(AbandonedPaymentsCollection.Name)]
public sealed class AbandonedPaymentTests(AbandonedPaymentsFixture fixture)
{
    private const string ReturnUrl = "https://shop.example/checkout/return";

    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    [Fact]
    public async Task An_abandoned_3ds_payment_is_canceled_at_the_psp_and_fails_at_its_deadline()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        var challenge = await StartThreeDSecureAsync(orderId, seller);

        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"), order => order.Str("status") == "FAILED",
            TimeSpan.FromSeconds(30), $"{orderId} to fail at its deadline");

        Assert.Equal("action_expired", order.GetProperty("failure").Str("code"));
        Assert.Equal(["NOT_STARTED", "EXECUTING", "REQUIRES_ACTION", "FAILED"], order.GetProperty("history").EnumerateArray().Select(entry => entry.Str("status")));
        var intent = Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
        Assert.Equal("canceled", intent.Str("status"));

        // The buyer comes back too late: nothing can be paid any more.
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var late = await browser.PostAsync(challenge, new FormUrlEncodedContent([new("action", "approve")]));
        Assert.Equal("canceled", Assert.Single(await _psp.PaymentIntentsForAsync(orderId)).Str("status"));
        Assert.Equal("FAILED", (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).Str("status"));
        Assert.Equal(0, (await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet")).GetProperty("balances").GetArrayLength());
        Assert.Equal(0, (await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}")).GetProperty("transactions").GetArrayLength());
    }

    [Fact]
    public async Task An_abandoned_hosted_page_is_closed_at_the_psp_and_fails_at_its_deadline()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        var page = await StartHostedPageAsync(orderId, seller, "19.00");

        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"), order => order.Str("status") == "FAILED",
            TimeSpan.FromSeconds(30), $"{orderId} to fail at its deadline");

        Assert.Equal("action_expired", order.GetProperty("failure").Str("code"));
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        Assert.Contains("expired", await browser.GetStringAsync(page), StringComparison.Ordinal);
        using var late = await browser.PostAsync(page, new FormUrlEncodedContent([new("card_number", "4242 4242 4242 4242")]));
        Assert.DoesNotContain(await _psp.PaymentIntentsForAsync(orderId), intent => intent.Str("status") == "succeeded");
        Assert.Equal(0, (await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet")).GetProperty("balances").GetArrayLength());
    }

    [Fact]
    public async Task A_3ds_payment_paid_whose_webhook_was_lost_is_booked_at_its_deadline()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        var challenge = await StartThreeDSecureAsync(orderId, seller);
        await SetFaultsAsync(new { webhook_drop_rate = 1.0, seed = 11 });
        try
        {
            using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
            using var answered = await browser.PostAsync(challenge, new FormUrlEncodedContent([new("action", "approve")]));
            Assert.Equal("succeeded", Assert.Single(await _psp.PaymentIntentsForAsync(orderId)).Str("status"));

            // No webhook and no poll (an hour away): only the deadline asks the PSP, whose cancel is refused as paid.
            var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
                order => order.Str("status") == "SUCCESS" && order.GetProperty("ledger_updated").GetBoolean(), TimeSpan.FromSeconds(30), $"{orderId} to be booked");
            Assert.Equal("12.00", order.Str("amount"));
        }
        finally
        {
            await SetFaultsAsync(new { });
        }

        Assert.Equal("succeeded", Assert.Single(await _psp.PaymentIntentsForAsync(orderId)).Str("status"));
        Assert.Equal(("12.00", "0.00", "0.00", "0.00"), await _merchant.WalletAsync(seller));
    }

    [Fact]
    public async Task A_hosted_page_paid_after_its_order_failed_is_refunded_once()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        var page = await StartHostedPageAsync(orderId, seller, "23.00");
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });

        // Every call to the PSP's API now takes 3 s, so the order's closing of the page after the decline is still on its way
        // when the buyer pays with a second card on the same page. (The page and webhooks are not slowed.)
        await SetFaultsAsync(new { latency_ms = 3000 });
        try
        {
            using var declined = await browser.PostAsync(page, new FormUrlEncodedContent([new("card_number", "4000 0000 0000 0002")]));
            await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"), order => order.Str("status") == "FAILED",
                TimeSpan.FromSeconds(20), $"{orderId} to fail by the decline's webhook");
            using var paid = await browser.PostAsync(page, new FormUrlEncodedContent([new("card_number", "4242 4242 4242 4242")]));
            Assert.Equal("succeeded", Assert.Single(await _psp.PaymentIntentsForAsync(orderId)).Str("status"));

            var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
                order => order.GetProperty("refunds").EnumerateArray().Any(refund => refund.Str("status") == "SUCCEEDED"), TimeSpan.FromSeconds(60), $"{orderId}'s late payment refunded");
            Assert.Equal("FAILED", order.Str("status"));
            Assert.Equal("card_declined", order.GetProperty("failure").Str("code"));
            var refund = Assert.Single(order.GetProperty("refunds").EnumerateArray());
            Assert.Equal($"late_{orderId}", refund.Str("refund_id"));
            Assert.Equal("23.00", refund.Str("amount"));
        }
        finally
        {
            await SetFaultsAsync(new { });
        }

        var intent = Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
        Assert.Equal(2300, intent.GetProperty("amount_refunded").GetInt64());
        var kinds = await Eventually.MatchesAsync(async () => (await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}"))
            .GetProperty("transactions").EnumerateArray().Select(transaction => transaction.Str("kind")).Order(StringComparer.Ordinal).ToArray(),
            kinds => kinds.Length == 2, TimeSpan.FromSeconds(20), $"{orderId}'s late payment and its refund booked");
        Assert.Equal(["late_payment", "late_payment_refund"], kinds);
        Assert.Equal("0.00", await _operator.LedgerNetAsync("late_payments:stripe"));
        Assert.Equal(0, (await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet")).GetProperty("balances").GetArrayLength());

        // Both the decline's close and the success webhook told the order of the payment: one refund all the same.
        Assert.Single((await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).GetProperty("refunds").EnumerateArray());
        Assert.Equal(2300, Assert.Single(await _psp.PaymentIntentsForAsync(orderId)).GetProperty("amount_refunded").GetInt64());
        await _operator.AssertInvariantsAsync();
    }

    private async Task<Uri> StartThreeDSecureAsync(string orderId, string seller)
    {
        using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_authenticationRequired", (orderId, seller, "12.00", "USD")), Ids.New("key"));
        var checkout = await created.JsonAsync();
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        Assert.Equal("REQUIRES_ACTION", checkout.Str("status"));
        return new Uri(checkout.GetProperty("next_action").Str("url"));
    }

    private async Task<Uri> StartHostedPageAsync(string orderId, string seller, string amount)
    {
        var body = new
        {
            checkout_id = Ids.New("chk"),
            buyer = new { id = "buyer_9" },
            payment_method = new { type = "hosted_page", return_url = ReturnUrl },
            orders = new[] { new { payment_order_id = orderId, seller_account = seller, amount, currency = "USD" } },
        };
        using var created = await _merchant.PostJsonAsync("/v1/payments", body, Ids.New("key"));
        var checkout = await created.JsonAsync();
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        return new Uri(checkout.GetProperty("next_action").Str("url"));
    }

    private async Task SetFaultsAsync(object faults)
    {
        using var response = await _psp.PostAsJsonAsync("/_sim/faults", faults);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
}
