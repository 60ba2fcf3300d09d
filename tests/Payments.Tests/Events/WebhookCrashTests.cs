using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Payments.Database;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Events;

/// <summary>The server process killed with SIGKILL while a webhook is on its way: the event is delivered after the restart.</summary>
public sealed class WebhookCrashTests
{
    [Fact]
    public async Task A_server_killed_mid_delivery_delivers_the_event_after_restart()
    {
        var dataDirectory = TestServer.NewDataDirectory();
        var apiAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var pspAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var (siloPort, gatewayPort) = (FreePort.Next(), FreePort.Next());
        await using var receiver = await WebhookReceiver.StartAsync();
        try
        {
            string secret;
            string orderId;
            await using (var first = await ServerProcess.StartAsync(dataDirectory, apiAddress, pspAddress, siloPort, gatewayPort, "first.log"))
            {
                using var merchant = Merchant(apiAddress);
                secret = await WebhookDeliveryTests.SetEndpointAsync(merchant, receiver.Url);
                receiver.Hold();
                orderId = await merchant.PayAsync(Ids.New("seller"), "12.00");
                // The first event is at the receiver, unanswered: the process dies with the delivery in flight.
                await Eventually.MatchesAsync(() => Task.FromResult(receiver.Received.Count), count => count >= 1, TimeSpan.FromSeconds(30), "the first delivery to arrive");
                first.KillHard();
            }

            receiver.Release();
            var held = receiver.Received[0];
            Assert.Equal("payment_order.succeeded", held.Type);

            await using var second = await ServerProcess.StartAsync(dataDirectory, apiAddress, pspAddress, siloPort, gatewayPort, "second.log");
            var delivered = await Eventually.MatchesAsync(() => Task.FromResult(receiver.Accepted), accepted => accepted.Count >= 2, TimeSpan.FromSeconds(60),
                "the events to be delivered after the restart");
            Assert.Equal(["payment_order.succeeded", "checkout.completed"], delivered.Select(webhook => webhook.Type));
            // The same event (same id) as the one cut off, signed afresh with the endpoint's secret.
            Assert.Equal(held.Id, delivered[0].Id);
            Assert.Equal(orderId, delivered[0].Object.Str("payment_order_id"));
            Assert.All(delivered, webhook => Assert.True(webhook.IsSignedWith(secret)));
            using var merchantAfter = Merchant(apiAddress);
            var log = (await merchantAfter.GetJsonAsync("/v1/events")).GetProperty("events").EnumerateArray().Select(entry => entry.Str("id")).ToArray();
            Assert.Equal(delivered.Select(webhook => webhook.Id), log);
            await second.StopAsync();
        }
        finally
        {
            // Whatever happened above, leave no PostgreSQL behind: reuse the running one (if any) and stop it.
            await using (await LocalPostgres.StartAsync(dataDirectory, durable: false, NullLogger.Instance, CancellationToken.None))
            {
            }

            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static HttpClient Merchant(Uri apiAddress)
    {
        var client = new HttpClient { BaseAddress = apiAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", "sk_test_demo_merchant");
        return client;
    }
}
