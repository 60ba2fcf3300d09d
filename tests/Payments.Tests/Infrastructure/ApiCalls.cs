using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Payments.Tests.Infrastructure;

/// <summary>Plain HTTP calls against the contract of shared/API.md, returning raw JSON to assert on.</summary>
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
}
