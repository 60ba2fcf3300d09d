using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Payments.Tests.Infrastructure;

/// <summary>An OpenTelemetry collector on loopback, as far as a test needs one: it keeps every OTLP/HTTP post it gets.</summary>
internal sealed class OtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<OtlpPost> _received = new();

    private OtlpCollector(WebApplication app, string address) => (_app, Address) = (app, address);

    /// <summary>What the server's <c>Telemetry:OtlpEndpoint</c> is set to.</summary>
    public string Address { get; }

    public IReadOnlyList<OtlpPost> Received => _received.ToArray();

    public static async Task<OtlpCollector> StartAsync()
    {
        var address = $"http://127.0.0.1:{FreePort.Next()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(address);
        var app = builder.Build();
        var collector = new OtlpCollector(app, address);
        app.MapPost("/v1/{signal}", async (HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            collector._received.Enqueue(new OtlpPost(http.Request.Path.Value!, http.Request.ContentType, body.ToArray()));
            return Results.Ok();
        });
        await app.StartAsync();
        return collector;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record OtlpPost(string Path, string? ContentType, byte[] Body);
