using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Payments.LoadTest.Soak;

/// <summary>One merchant event received with a good signature: its id, type and the id of the object it reports.</summary>
internal sealed record SoakEvent(string Id, string Type, string? ObjectId);

/// <summary>
/// The merchant's webhook endpoint on loopback: verifies each POST's <c>Payments-Signature</c> with the endpoint's secret
/// and keeps the events by id (deliveries are at least once: a repeat is counted, not kept twice). Always answers 200 to a
/// good signature, so every event owed has its chance; a bad one is answered 400 and counted.
/// </summary>
internal sealed class SoakWebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, SoakEvent> _events = new();
    private long _posts;
    private long _badSignatures;

    private SoakWebhookReceiver(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>The endpoint's signing secret, as the PUT answered it; until it is set every POST counts as badly signed.</summary>
    public string? Secret { get; set; }

    public IReadOnlyDictionary<string, SoakEvent> Events => _events;

    public long Posts => Interlocked.Read(ref _posts);

    public long BadSignatures => Interlocked.Read(ref _badSignatures);

    public static async Task<SoakWebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        // Port 0: the system picks a free one, read back below.
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new SoakWebhookReceiver(app);
        app.MapPost("/hooks", (Func<HttpContext, Task<IResult>>)receiver.ReceiveAsync);
        await app.StartAsync();
        receiver.Url = new Uri(new Uri(app.Urls.First()), "/hooks");
        return receiver;
    }

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        Interlocked.Increment(ref _posts);
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        if (Secret is not { } secret || !IsSigned(context.Request.Headers["Payments-Signature"].ToString(), body, secret))
        {
            Interlocked.Increment(ref _badSignatures);
            return Results.StatusCode(StatusCodes.Status400BadRequest);
        }

        var json = SoakJson.Parse(body);
        if (SoakJson.Text(json, "id") is { } id && SoakJson.Text(json, "type") is { } type)
        {
            _events.TryAdd(id, new SoakEvent(id, type, ObjectId(type, SoakJson.Field(SoakJson.Field(json, "data"), "object"))));
        }

        return Results.Ok();
    }

    /// <summary>The id of what an event of <paramref name="type"/> reports: its order, checkout, refund or payout.</summary>
    public static string? ObjectId(string type, JsonElement item) => type.Split('.')[0] switch
    {
        "payment_order" => SoakJson.Text(item, "payment_order_id"),
        "checkout" => SoakJson.Text(item, "checkout_id"),
        "refund" => SoakJson.Text(item, "refund_id"),
        "payout" => SoakJson.Text(item, "payout_id"),
        _ => null,
    };

    /// <summary>Stripe's scheme under our header name: <c>t=…,v1=…</c>, v1 the hex HMAC-SHA256 of <c>t.body</c>; any v1 may match.</summary>
    private static bool IsSigned(string header, string body, string secret)
    {
        var parts = header.Split(',').Select(part => part.Split('=', 2)).Where(pair => pair.Length == 2).ToArray();
        var timestamp = parts.FirstOrDefault(pair => pair[0] == "t")?[1];
        if (timestamp is null)
        {
            return false;
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}"));
        return parts.Where(pair => pair[0] == "v1").Any(pair =>
        {
            try
            {
                return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(pair[1]), expected);
            }
            catch (FormatException)
            {
                return false;
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
