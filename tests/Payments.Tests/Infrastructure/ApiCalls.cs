using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Payments.Tests.Infrastructure;

/// <summary>Plain HTTP calls against the contract of docs/api.md, returning raw JSON to assert on.</summary>
internal static class ApiCalls
{
    public static object Checkout(string checkoutId, string token, params (string PaymentOrderId, string Seller, string Amount, string Currency)[] orders) => new
    {
        checkout_id = checkoutId,
        buyer = new { id = "buyer_42", email = "b@example.com" },
        payment_method = new { type = "token", token },
        orders = orders.Select(order => new { payment_order_id = order.PaymentOrderId, seller_account = order.Seller, amount = order.Amount, currency = order.Currency }).ToArray(),
    };

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body, string? idempotencyKey) =>
        client.PostRawAsync(path, JsonSerializer.Serialize(body), idempotencyKey);

    public static async Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string path, string body, string? idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await client.SendAsync(request);
    }

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string path, System.Net.HttpStatusCode expected = System.Net.HttpStatusCode.OK)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"GET {path}: expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static string Str(this JsonElement element, string name) => element.GetProperty(name).GetString()!;

    /// <summary>The parked dead letter of a payment order, or null (read with an operator's client).</summary>
    public static async Task<JsonElement?> DeadLetterAsync(this HttpClient operatorClient, string paymentOrderId)
    {
        var list = await operatorClient.GetJsonAsync("/v1/ops/dead-letters");
        return list.GetProperty("dead_letters").EnumerateArray().Where(row => row.Str("payment_order_id") == paymentOrderId).Select(row => (JsonElement?)row).FirstOrDefault();
    }

    /// <summary>The payment intents the PSP simulator holds for a payment order (the PSP's own truth).</summary>
    public static async Task<JsonElement[]> PaymentIntentsForAsync(this HttpClient psp, string paymentOrderId)
    {
        var intents = await psp.GetFromJsonAsync<JsonElement>("/_sim/payment_intents");
        return intents.EnumerateArray()
            .Where(intent => intent.TryGetProperty("metadata", out var metadata)
                && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("payment_order_id", out var id)
                && id.GetString() == paymentOrderId)
            .ToArray();
    }

    public static MediaTypeHeaderValue? ContentType(this HttpResponseMessage response) => response.Content.Headers.ContentType;

    public static async Task<HttpResponseMessage> PutJsonAsync(this HttpClient client, string path, object body) =>
        await client.PutAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));

    /// <summary>Pays <paramref name="amount"/> to the seller in a checkout of one order (201 expected); returns the order id.</summary>
    public static async Task<string> PayAsync(this HttpClient merchant, string seller, string amount, string currency = "USD", string token = "pm_card_visa")
    {
        var orderId = Ids.New("po");
        using var created = await merchant.PostJsonAsync("/v1/payments", Checkout(Ids.New("chk"), token, (orderId, seller, amount, currency)), Ids.New("key"));
        Assert.True(created.StatusCode == System.Net.HttpStatusCode.Created, $"paying {orderId}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        return orderId;
    }

    /// <summary>Fulfills the order (200 expected) and returns it.</summary>
    public static async Task<JsonElement> FulfillAsync(this HttpClient merchant, string orderId)
    {
        using var response = await merchant.PostJsonAsync($"/v1/payments/{orderId}/fulfillment", new { }, Ids.New("key"));
        var body = await response.JsonAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, $"fulfilling {orderId}: {(int)response.StatusCode} {body}");
        return body;
    }

    /// <summary>Pays and fulfills <paramref name="amount"/> for a new seller paid out to <paramref name="destination"/>; returns the seller.</summary>
    public static async Task<string> SellerWithAvailableAsync(this HttpClient merchant, string amount, string? destination = "ba_sim_ok", string interval = "manual")
    {
        var seller = Ids.New("seller");
        await merchant.FulfillAsync(await merchant.PayAsync(seller, amount));
        if (destination is not null)
        {
            using var settings = await merchant.PutJsonAsync($"/v1/sellers/{seller}/payout_settings", new { destination, interval });
            Assert.True(settings.IsSuccessStatusCode, $"payout settings of {seller}: {(int)settings.StatusCode} {await settings.Content.ReadAsStringAsync()}");
        }

        return seller;
    }

    /// <summary>The seller's USD balances as the API shows them: (pending, available, reserved, paid_out).</summary>
    public static async Task<(string Pending, string Available, string Reserved, string PaidOut)> WalletAsync(this HttpClient client, string seller, string currency = "USD")
    {
        var wallet = await client.GetJsonAsync($"/v1/sellers/{seller}/wallet");
        var balance = wallet.GetProperty("balances").EnumerateArray().Single(b => b.Str("currency") == currency);
        return (balance.Str("pending"), balance.Str("available"), balance.Str("reserved"), balance.Str("paid_out"));
    }

    /// <summary>The net (debits - credits) of a ledger account in USD, "0.00" when it has no entries.</summary>
    public static async Task<string> LedgerNetAsync(this HttpClient operatorClient, string account)
    {
        var balance = await operatorClient.GetJsonAsync($"/v1/ledger/accounts/{account}/balance");
        return balance.GetProperty("balances").EnumerateArray().Where(b => b.Str("currency") == "USD").Select(b => b.Str("net")).SingleOrDefault() ?? "0.00";
    }

    /// <summary>The payouts the PSP simulator holds for one of our payout ids (the PSP's own truth).</summary>
    public static async Task<JsonElement[]> PspPayoutsForAsync(this HttpClient psp, string payoutId)
    {
        var payouts = await psp.GetFromJsonAsync<JsonElement>("/_sim/payouts");
        return payouts.EnumerateArray()
            .Where(payout => payout.TryGetProperty("metadata", out var metadata)
                && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("payout_id", out var id)
                && id.GetString() == payoutId)
            .ToArray();
    }

    public static async Task AssertInvariantsAsync(this HttpClient operatorClient)
    {
        var invariants = await operatorClient.GetJsonAsync("/v1/ops/invariants");
        Assert.True(invariants.GetProperty("ok").GetBoolean(), invariants.ToString());
    }
}
