using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Payments.Tests.Infrastructure;

/// <summary>A merchant's webhook endpoint on loopback: keeps every POST it gets, and fails or holds them when told to.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private int _failuresLeft;
    private TaskCompletionSource? _hold;

    private WebhookReceiver(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    /// <summary>Every request, in the order it came (failed ones too).</summary>
    public IReadOnlyList<ReceivedWebhook> Received => _received.ToArray();

    /// <summary>The requests answered 2xx.</summary>
    public IReadOnlyList<ReceivedWebhook> Accepted => _received.Where(webhook => webhook.Accepted).ToArray();

    public static async Task<WebhookReceiver> StartAsync(int? port = null)
    {
        var url = new Uri($"http://127.0.0.1:{port ?? FreePort.Next()}/hooks");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{url.Port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, url);
        app.MapPost("/hooks", (Func<HttpContext, Task<IResult>>)receiver.ReceiveAsync);
        await app.StartAsync();
        return receiver;
    }

    /// <summary>The next <paramref name="count"/> requests are answered 500.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    /// <summary>Requests wait, unanswered, until <see cref="Release"/>.</summary>
    public void Hold() => _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => Interlocked.Exchange(ref _hold, null)?.TrySetResult();

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var signature = context.Request.Headers["Payments-Signature"].ToString();
        if (_hold is { } hold)
        {
            _received.Enqueue(new ReceivedWebhook(body, signature, Accepted: false, Held: true));
            await hold.Task.WaitAsync(context.RequestAborted);
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        var fail = Interlocked.Decrement(ref _failuresLeft) >= 0;
        _received.Enqueue(new ReceivedWebhook(body, signature, Accepted: !fail, Held: false));
        return fail ? Results.StatusCode(StatusCodes.Status500InternalServerError) : Results.Ok();
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record ReceivedWebhook(string Body, string Signature, bool Accepted, bool Held)
{
    public JsonElement Event => JsonDocument.Parse(Body).RootElement;

    public string Id => Event.Str("id");

    public string Type => Event.Str("type");

    public JsonElement Object => Event.GetProperty("data").GetProperty("object");

    /// <summary>
    /// Checks the signature the way a merchant would with Stripe's scheme: t and every v1 from the header, the HMAC-SHA256
    /// of "t.body" with the secret, compared in fixed time against each v1.
    /// </summary>
    public bool IsSignedWith(string secret)
    {
        var parts = Signature.Split(',').Select(part => part.Split('=', 2)).Where(pair => pair.Length == 2).ToArray();
        var timestamp = parts.Where(pair => pair[0] == "t").Select(pair => pair[1]).SingleOrDefault();
        if (timestamp is null)
        {
            return false;
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{Body}"));
        return parts.Where(pair => pair[0] == "v1").Any(pair => CryptographicOperations.FixedTimeEquals(Convert.FromHexString(pair[1]), expected));
    }

    public long Timestamp => long.Parse(Signature.Split(',').Single(part => part.StartsWith("t=", StringComparison.Ordinal))[2..], System.Globalization.CultureInfo.InvariantCulture);
}
