using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Payments.Grains.Events;

namespace Payments.Tests.Unit;

public sealed class WebhookSignatureTests
{
    [Fact]
    public void The_signature_is_the_hmac_of_timestamp_dot_body_with_each_secret()
    {
        var body = Encoding.UTF8.GetBytes("{\"id\":\"evt_1\"}");
        var header = WebhookSender.Signature("1764612000", body, "whsec_new", previousSecret: "whsec_old");
        var expected = (string secret) => Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes("1764612000.{\"id\":\"evt_1\"}")));
        Assert.Equal($"t=1764612000,v1={expected("whsec_new")},v1={expected("whsec_old")}", header);
        Assert.Equal($"t=1764612000,v1={expected("whsec_new")}", WebhookSender.Signature("1764612000", body, "whsec_new", previousSecret: null));
    }

    [Fact]
    public void The_body_is_the_event_as_the_log_lists_it()
    {
        var delivery = new OwedDelivery("evt_1", "payout.paid", new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero), "{\"object\": {\"payout_id\": \"p1\"}}", 0, DateTimeOffset.UnixEpoch);
        using var json = JsonDocument.Parse(WebhookSender.Body(delivery));
        Assert.Equal("evt_1", json.RootElement.GetProperty("id").GetString());
        Assert.Equal("payout.paid", json.RootElement.GetProperty("type").GetString());
        Assert.Equal("2026-12-01T10:00:00Z", json.RootElement.GetProperty("created_at").GetString());
        Assert.Equal("p1", json.RootElement.GetProperty("data").GetProperty("object").GetProperty("payout_id").GetString());
    }

    [Fact]
    public async Task Outside_development_a_delivery_never_connects_to_a_private_address_whatever_the_url_said()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        using var client = new HttpClient(WebhookSender.Handler(new Payments.Core.Events.WebhookOptions { AllowPrivateNetworks = false }));
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync($"http://localhost:{port}/hooks", new StringContent("{}")));
        Assert.Contains("no public address", refused.Message);
        Assert.False(listener.Pending());

        using var allowed = new HttpClient(WebhookSender.Handler(new Payments.Core.Events.WebhookOptions { AllowPrivateNetworks = true }));
        var answering = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            var buffer = new byte[4096];
            _ = await socket.ReceiveAsync(buffer);
            await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"));
        });
        using var response = await allowed.PostAsync($"http://localhost:{port}/hooks", new StringContent("{}"));
        Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
        await answering;
    }
}
