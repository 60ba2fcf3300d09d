using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>With an OTLP endpoint configured, the server sends its traces and metrics there (OTLP over HTTP, protobuf).</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task Traces_and_metrics_reach_the_configured_otlp_endpoint()
    {
        await using var collector = await OtlpCollector.StartAsync();

        var dataDirectory = TestServer.NewDataDirectory();
        try
        {
            await using (var server = await TestServer.StartAsync(dataDirectory, new Dictionary<string, string?>
            {
                ["Telemetry:OtlpEndpoint"] = collector.Address,
                ["Telemetry:MetricsExportInterval"] = "00:00:01",
            }))
            {
                using var merchant = server.CreateClient();
                await merchant.PayAsync(Ids.New("seller"), "12.00");
                await Eventually.MatchesAsync(() => Task.FromResult(collector.Received),
                    posts => posts.Any(post => post.Path == "/v1/traces") && posts.Any(post => post.Path == "/v1/metrics"),
                    TimeSpan.FromSeconds(30), "traces and metrics at the collector");
            }

            Assert.All(collector.Received, post => Assert.Equal(("application/x-protobuf", true), (post.ContentType, post.Body.Length > 0)));
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
