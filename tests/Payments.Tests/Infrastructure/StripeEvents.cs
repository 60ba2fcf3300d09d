using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Payments.Tests.Infrastructure;

/// <summary>Stripe-shaped webhook events, signed the way Stripe signs them, for tests that play the PSP.</summary>
internal static class StripeEvents
{
    public static string PaymentIntentEvent(string type, string paymentIntentId, string paymentOrderId, string status, string? failureCode = null) =>
        Event(type, new
        {
            id = paymentIntentId,
            @object = "payment_intent",
            amount = 100,
            currency = "usd",
            status,
            metadata = new Dictionary<string, string> { ["payment_order_id"] = paymentOrderId },
            last_payment_error = failureCode is null ? null : new { code = failureCode, message = "declined", type = "card_error" },
        });

    /// <summary>A refund event for our refund <paramref name="refundId"/> (carried in its metadata, as we create refunds).</summary>
    public static string RefundEvent(string type, string paymentIntentId, string paymentOrderId, string refundId, long amount, string status) =>
        Event(type, new
        {
            id = Ids.New("re"),
            @object = "refund",
            amount,
            currency = "usd",
            payment_intent = paymentIntentId,
            status,
            metadata = new Dictionary<string, string> { ["payment_order_id"] = paymentOrderId, ["refund_id"] = refundId },
        });

    /// <summary>A payout event for our payout <paramref name="payoutId"/> (carried in its metadata, as we create payouts).</summary>
    public static string PayoutEvent(string type, string pspPayoutId, string payoutId, long amount, string status, string? failureCode = null) =>
        Event(type, new
        {
            id = pspPayoutId,
            @object = "payout",
            amount,
            currency = "usd",
            status,
            failure_code = failureCode,
            metadata = new Dictionary<string, string> { ["payout_id"] = payoutId },
        });

    private static string Event(string type, object dataObject) =>
        JsonSerializer.Serialize(new
        {
            id = Ids.New("evt"),
            @object = "event",
            api_version = "2026-10-28.endive",
            created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            livemode = false,
            pending_webhooks = 1,
            type,
            data = new { @object = dataObject },
        });

    /// <summary>A <c>Stripe-Signature</c> header: <c>t=&lt;unix seconds&gt;,v1=&lt;mac&gt;</c>.</summary>
    public static string Signature(string payload, string secret, DateTimeOffset at) =>
        $"t={UnixSeconds(at)},v1={Mac(payload, secret, UnixSeconds(at))}";

    public static string UnixSeconds(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>Stripe's v1 signature: hex HMAC-SHA256, keyed by the secret, of "&lt;timestamp&gt;.&lt;payload&gt;".</summary>
    public static string Mac(string payload, string secret, string timestamp) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{payload}")));

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
