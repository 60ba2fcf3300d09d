using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Payments.Tests.Infrastructure;

/// <summary>Stripe-shaped webhook events, signed the way Stripe signs them, for tests that play the PSP.</summary>
internal static class StripeEvents
{
    public static string PaymentIntentEvent(string type, string paymentIntentId, string paymentOrderId, string status, string? failureCode = null) =>
        JsonSerializer.Serialize(new
        {
            id = Ids.New("evt"),
            @object = "event",
            api_version = "2026-10-28.endive",
            created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            livemode = false,
            pending_webhooks = 1,
            type,
            data = new
            {
                @object = new
                {
                    id = paymentIntentId,
                    @object = "payment_intent",
                    amount = 100,
                    currency = "usd",
                    status,
                    metadata = new Dictionary<string, string> { ["payment_order_id"] = paymentOrderId },
                    last_payment_error = failureCode is null ? null : new { code = failureCode, message = "declined", type = "card_error" },
                },
            },
        });

    public static string Signature(string payload, string secret, DateTimeOffset at)
    {
        var timestamp = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{payload}"));
        return $"t={timestamp},v1={Convert.ToHexStringLower(mac)}";
    }

    public static async Task<HttpResponseMessage> DeliverAsync(this HttpClient client, string payload, string? signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/psp/webhooks") { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation("Stripe-Signature", signature);
        }

        return await client.SendAsync(request);
    }
}
