using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Payments.Core.Events;

namespace Payments.Grains.Events;

/// <summary>
/// POSTs one event to a merchant's endpoint, signed the Stripe way: <c>Payments-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex
/// HMAC-SHA256 of "t.body"&gt;</c>, with a second <c>v1</c> for the previous secret after a rotation; <c>t</c> is fresh on
/// each attempt so a receiver can refuse old replays.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory clients, IOptions<WebhookOptions> options, TimeProvider time)
{
    public const string HttpClientName = "merchant-webhooks";
    public const string SignatureHeader = "Payments-Signature";

    internal async Task<DeliveryAttempt> SendAsync(WebhookEndpoint endpoint, OwedDelivery delivery)
    {
        var body = Body(delivery);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation(SignatureHeader, Signature(timestamp, body, endpoint.Secret, endpoint.PreviousSecret));
        request.Headers.UserAgent.ParseAdd("PaymentsOrleans-Webhooks/1");
        using var timeout = new CancellationTokenSource(options.Value.AttemptTimeout);
        try
        {
            using var response = await clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            // The status decides; the body is only read (capped) so the connection can be reused, and a broken one changes nothing.
            await DrainAsync(response, timeout.Token);
            return new DeliveryAttempt(response.IsSuccessStatusCode, status, response.IsSuccessStatusCode ? null : $"endpoint answered {status}");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new DeliveryAttempt(false, null, $"no answer within {options.Value.AttemptTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Refused, reset, a malformed answer: whatever the endpoint did, it is a failed attempt, recorded and retried.
            return new DeliveryAttempt(false, null, $"{exception.GetType().Name}: {exception.Message}");
        }
    }

    /// <summary>The event as <c>GET /v1/events</c> lists it.</summary>
    internal static byte[] Body(OwedDelivery delivery)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", delivery.EventId);
            json.WriteString("type", delivery.Type);
            json.WriteString("created_at", delivery.CreatedAt.UtcDateTime);
            json.WritePropertyName("data");
            json.WriteRawValue(delivery.Data, skipInputValidation: true);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    internal static string Signature(string timestamp, byte[] body, string secret, string? previousSecret)
    {
        var signed = new StringBuilder("t=").Append(timestamp).Append(",v1=").Append(Sign(timestamp, body, secret));
        if (previousSecret is not null)
        {
            signed.Append(",v1=").Append(Sign(timestamp, body, previousSecret));
        }

        return signed.ToString();
    }

    private static string Sign(string timestamp, byte[] body, string secret)
    {
        var payload = new byte[timestamp.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(timestamp, payload);
        payload[timestamp.Length] = (byte)'.';
        body.CopyTo(payload, timestamp.Length + 1);
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), payload));
    }

    /// <summary>Reads (and drops) at most the cap of the answer, so the connection can be reused; a bigger or broken answer is cut off.</summary>
    private async Task DrainAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await DrainCappedAsync(response, cancellationToken);
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException)
        {
            // The status is what counts; the connection is not reused.
        }
    }

    private async Task DrainCappedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[8192];
        var left = options.Value.ResponseBytesMax;
        while (left > 0)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, left)), cancellationToken);
            if (read == 0)
            {
                return;
            }

            left -= read;
        }
    }

    /// <summary>
    /// The connection step of the webhook client: resolves the host and refuses private and loopback addresses unless they are
    /// allowed, so a public name that resolves into our network is refused too (the check at PUT only sees the name).
    /// </summary>
    public static SocketsHttpHandler Handler(WebhookOptions options) => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        // A proxy would connect for us, to wherever the URL says: the address check below would see only the proxy.
        UseProxy = false,
        ConnectTimeout = options.AttemptTimeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
            var allowed = addresses.Where(address => options.PrivateNetworksAllowed || !WebhookAddresses.IsPrivate(address)).ToArray();
            if (allowed.Length == 0)
            {
                throw new HttpRequestException($"{context.DnsEndPoint.Host} resolves to no public address; private networks are not allowed.");
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}

internal sealed record DeliveryAttempt(bool Delivered, int? StatusCode, string? Error);
