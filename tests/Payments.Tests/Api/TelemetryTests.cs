using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>With an OTLP endpoint configured, the server sends its traces and metrics there (OTLP over HTTP, protobuf).</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task Traces_and_metrics_reach_the_configured_otlp_endpoint()
    {
        var received = new ConcurrentQueue<(string Path, string? ContentType, long Bytes)>();
        var collectorAddress = $"http://127.0.0.1:{FreePort.Next()}";
        var collectorBuilder = WebApplication.CreateSlimBuilder();
        collectorBuilder.WebHost.UseUrls(collectorAddress);
        await using var collector = collectorBuilder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            received.Enqueue((http.Request.Path.Value!, http.Request.ContentType, body.Length));
            return Results.Ok();
        });
        await collector.StartAsync();

        var dataDirectory = TestServer.NewDataDirectory();
        try
        {
            await using (var server = await TestServer.StartAsync(dataDirectory, new Dictionary<string, string?>
            {
                ["Telemetry:OtlpEndpoint"] = collectorAddress,
                ["Telemetry:MetricsExportInterval"] = "00:00:01",
            }))
            {
                using var merchant = server.CreateClient();
                await merchant.PayAsync(Ids.New("seller"), "12.00");
                await Eventually.MatchesAsync(() => Task.FromResult(received.ToArray()),
                    posts => posts.Any(post => post.Path == "/v1/traces") && posts.Any(post => post.Path == "/v1/metrics"),
                    TimeSpan.FromSeconds(30), "traces and metrics at the collector");
            }

            Assert.All(received, post => Assert.Equal(("application/x-protobuf", true), (post.ContentType, post.Bytes > 0)));
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
