using System.Net;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>PostgreSQL stopped under a running server: requests answer 503 service_unavailable, then work again with one charge each.</summary>
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private TestServer? _server;

    private TestServer Server => _server!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(TestServer.NewDataDirectory());

    [Fact]
    public async Task While_the_database_is_down_a_post_is_503_with_retry_after_and_once_it_is_back_the_retry_charges_once()
    {
        using var merchant = Server.CreateClient();
        using var psp = Server.CreatePspClient();
        await merchant.PayAsync(Ids.New("seller"), "1.00");

        var (key, orderId) = (Ids.New("key"), Ids.New("po"));
        var body = ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, Ids.New("seller"), "8.00", "USD"));
        await PostgresControl.StopAsync(Server.DataDirectory);
        try
        {
            using var refused = await merchant.PostJsonAsync("/v1/payments", body, key);
            var problem = await refused.JsonAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("service_unavailable", problem.Str("code"));
            Assert.Equal("application/problem+json", refused.ContentType()?.MediaType);
            Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, refused.Headers.ToString());
            Assert.Empty(await psp.PaymentIntentsForAsync(orderId));
        }
        finally
        {
            await PostgresControl.StartAgainAsync(Server.DataDirectory);
        }

        // The client retries with the same key until the server has its database again: one charge, one 201.
        var status = await Eventually.MatchesAsync(async () =>
        {
            using var retried = await merchant.PostJsonAsync("/v1/payments", body, key);
            return retried.StatusCode;
        }, code => code is HttpStatusCode.Created, TimeSpan.FromSeconds(60), $"the retry of {orderId} to be accepted");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Single(await psp.PaymentIntentsForAsync(orderId));
        await Server.CreateClient(TestServer.OperatorKey).AssertInvariantsAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            Directory.Delete(_server.DataDirectory, recursive: true);
        }
    }
}
