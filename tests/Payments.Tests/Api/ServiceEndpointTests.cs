using System.Net;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

[Collection(ServerCollection.Name)]
public sealed class ServiceEndpointTests(ServerFixture fixture)
{
    private readonly HttpClient _anonymous = fixture.Server.CreateClient(apiKey: null);

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_endpoints_answer_healthy(string path)
    {
        using var response = await _anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_openapi_document_lists_every_route()
    {
        var document = await _anonymous.GetJsonAsync("/openapi/v1.json");
        var paths = document.GetProperty("paths").EnumerateObject().Select(path => path.Name).ToHashSet();

        Assert.Superset(new HashSet<string>
        {
            "/v1/payments", "/v1/checkouts/{checkoutId}", "/v1/payments/{paymentOrderId}", "/v1/sellers/{sellerAccount}/wallet",
            "/v1/ledger/accounts/{account}/balance", "/v1/ledger/transactions", "/v1/ops/invariants",
            "/v1/payments/{paymentOrderId}/fulfillment", "/v1/payouts", "/v1/payouts/{payoutId}", "/v1/sellers/{sellerAccount}/payouts",
            "/v1/sellers/{sellerAccount}/payout_settings", "/v1/ops/stuck-payouts", "/v1/ops/payout-runs",
            "/v1/events", "/v1/webhook_endpoint", "/v1/ops/webhook-deliveries",
        }, paths);
    }

    [Fact]
    public async Task The_dashboard_is_served()
    {
        using var operatorClient = fixture.Server.CreateClient(TestServer.OperatorKey);
        using var response = await operatorClient.GetAsync("/dashboard/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
    }
}
