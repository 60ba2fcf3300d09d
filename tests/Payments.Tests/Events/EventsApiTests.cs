using System.Net;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Events;

/// <summary>GET /v1/events and the webhook endpoint routes: paging, filters, and every refusal with its code.</summary>
[Collection(EventsServerCollection.Name)]
public sealed class EventsApiTests(EventsServerFixture fixture)
{
    [Fact]
    public async Task The_log_pages_oldest_first_or_newest_first_filters_by_type_and_is_the_merchants_own()
    {
        using var merchant = fixture.Server.CreateClient(EventsServerFixture.KeyOf("merchant_ev4"));
        var orders = new List<string>();
        for (var index = 0; index < 3; index++)
        {
            orders.Add(await merchant.PayAsync(Ids.New("seller"), "2.00"));
        }

        var all = (await merchant.GetJsonAsync("/v1/events?limit=1000")).GetProperty("events").EnumerateArray().ToArray();
        Assert.Equal(["payment_order.succeeded", "checkout.completed", "payment_order.succeeded", "checkout.completed", "payment_order.succeeded", "checkout.completed"],
            all.Select(entry => entry.Str("type")));
        Assert.Equal(orders, all.Where(entry => entry.Str("type") == "payment_order.succeeded").Select(entry => entry.GetProperty("data").GetProperty("object").Str("payment_order_id")));
        Assert.All(all, entry => Assert.StartsWith("evt_", entry.Str("id")));

        var firstPage = await merchant.GetJsonAsync("/v1/events?limit=4");
        Assert.True(firstPage.GetProperty("has_more").GetBoolean());
        var after = firstPage.GetProperty("events")[3].Str("id");
        var secondPage = await merchant.GetJsonAsync($"/v1/events?limit=4&starting_after={after}");
        Assert.False(secondPage.GetProperty("has_more").GetBoolean());
        Assert.Equal(all.Skip(4).Select(entry => entry.Str("id")), secondPage.GetProperty("events").EnumerateArray().Select(entry => entry.Str("id")));

        var newest = await merchant.GetJsonAsync("/v1/events?order=desc&type=payment_order.succeeded&limit=2");
        Assert.Equal(orders.AsEnumerable().Reverse().Take(2), newest.GetProperty("events").EnumerateArray().Select(entry => entry.GetProperty("data").GetProperty("object").Str("payment_order_id")));
        Assert.True(newest.GetProperty("has_more").GetBoolean());

        // Another merchant sees none of these, and cannot page from one of them.
        using var other = fixture.Server.CreateClient(EventsServerFixture.KeyOf("merchant_ev5"));
        Assert.DoesNotContain((await other.GetJsonAsync("/v1/events")).GetProperty("events").EnumerateArray(), entry => all.Any(mine => mine.Str("id") == entry.Str("id")));
        var foreign = await other.GetJsonAsync($"/v1/events?starting_after={after}", HttpStatusCode.BadRequest);
        Assert.True(foreign.GetProperty("errors").TryGetProperty("starting_after", out _));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("type=payment_order.exploded", "type")]
    [InlineData("order=sideways", "order")]
    [InlineData("starting_after=evt_unknown", "starting_after")]
    public async Task A_bad_query_is_a_validation_problem_naming_the_field(string query, string field)
    {
        using var merchant = fixture.Server.CreateClient(EventsServerFixture.KeyOf("merchant_ev5"));
        var problem = await merchant.GetJsonAsync($"/v1/events?{query}", HttpStatusCode.BadRequest);
        Assert.Equal("validation_failed", problem.Str("code"));
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Theory]
    [InlineData("{}", "url")]
    [InlineData("{\"url\": \"ftp://example.com/hooks\"}", "url")]
    [InlineData("{\"url\": \"hooks\"}", "url")]
    [InlineData("{\"url\": \"https://user:pass@example.com/hooks\"}", "url")]
    [InlineData("{\"url\": \"https://example.com/hooks\", \"events\": []}", "events")]
    [InlineData("{\"url\": \"https://example.com/hooks\", \"events\": [\"payout.exploded\"]}", "events")]
    [InlineData("{\"url\": \"https://example.com/hooks\", \"rotate_secret\": \"yes\"}", "rotate_secret")]
    public async Task A_bad_endpoint_is_refused_and_sets_nothing(string body, string field)
    {
        using var merchant = fixture.Server.CreateClient(EventsServerFixture.KeyOf("merchant_ev5"));
        using var response = await merchant.PutAsync("/v1/webhook_endpoint", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await response.JsonAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("validation_failed", problem.Str("code"));
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        var current = await merchant.GetJsonAsync("/v1/webhook_endpoint", HttpStatusCode.NotFound);
        Assert.Equal("webhook_endpoint_not_found", current.Str("code"));
    }

    [Fact]
    public async Task Events_belong_to_merchants_and_failing_deliveries_to_operators()
    {
        using var operatorClient = fixture.Server.CreateClient(TestServer.OperatorKey);
        Assert.Equal("merchant_key_required", (await operatorClient.GetJsonAsync("/v1/events", HttpStatusCode.Forbidden)).Str("code"));
        using var merchant = fixture.Server.CreateClient(EventsServerFixture.KeyOf("merchant_ev5"));
        await merchant.GetJsonAsync("/v1/ops/webhook-deliveries", HttpStatusCode.Forbidden);
        using var anonymous = fixture.Server.CreateClient(apiKey: null);
        await anonymous.GetJsonAsync("/v1/events", HttpStatusCode.Unauthorized);
        Assert.Equal("validation_failed", (await operatorClient.GetJsonAsync("/v1/ops/webhook-deliveries?status=sad", HttpStatusCode.BadRequest)).Str("code"));
        var failed = await operatorClient.GetJsonAsync("/v1/ops/webhook-deliveries?status=failed");
        Assert.Equal(0, failed.GetProperty("endpoints").GetArrayLength());
    }
}
