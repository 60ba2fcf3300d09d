using System.Net;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>A server with tiny buckets: 3 requests at once, then 1 a second, per key, per IP without a key, and for PSP webhooks.</summary>
public sealed class RateLimitServerFixture : DedicatedServerFixture
{
    public const int Burst = 3;

    /// <summary>Keys of their own, one or two per test, so that no test finds a bucket another emptied.</summary>
    public static readonly string[] Keys = ["sk_test_rl_0", "sk_test_rl_1", "sk_test_rl_2", "sk_test_rl_3", "sk_test_rl_4", "sk_test_rl_5"];

    protected override IDictionary<string, string?> Settings
    {
        get
        {
            var settings = new Dictionary<string, string?>
            {
                ["RateLimiting:PermitsPerSecond"] = "1",
                ["RateLimiting:Burst"] = $"{Burst}",
                ["RateLimiting:AnonymousPermitsPerSecond"] = "1",
                ["RateLimiting:AnonymousBurst"] = $"{Burst}",
                ["RateLimiting:PspWebhooksPermitsPerSecond"] = "1",
                ["RateLimiting:PspWebhooksBurst"] = $"{Burst}",
            };
            for (var i = 0; i < Keys.Length; i++)
            {
                // After the three keys every test server has.
                settings[$"Auth:ApiKeys:{i + 3}:Key"] = Keys[i];
                settings[$"Auth:ApiKeys:{i + 3}:MerchantId"] = "merchant_a";
            }

            return settings;
        }
    }
}

public sealed class RateLimitTests(RateLimitServerFixture fixture) : IClassFixture<RateLimitServerFixture>
{
    private const int Burst = RateLimitServerFixture.Burst;

    [Fact]
    public async Task A_burst_beyond_the_bucket_is_429_rate_limited_with_retry_after_and_another_key_is_not_affected()
    {
        using var first = fixture.Server.CreateClient(RateLimitServerFixture.Keys[0]);
        using var second = fixture.Server.CreateClient(RateLimitServerFixture.Keys[1]);

        var responses = await Task.WhenAll(Enumerable.Range(0, Burst + 3).Select(_ => first.GetAsync($"/v1/payments/{Ids.New("po")}")));
        try
        {
            var statuses = responses.Select(response => response.StatusCode).ToArray();
            Assert.All(statuses, status => Assert.Contains(status, new[] { HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests }));
            // The bucket's burst passes (one more if its second's refill came in the middle); the rest are refused.
            Assert.InRange(statuses.Count(status => status == HttpStatusCode.NotFound), Burst, Burst + 1);
            Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
            foreach (var refused in responses.Where(response => response.StatusCode == HttpStatusCode.TooManyRequests))
            {
                await AssertRateLimitedAsync(refused);
            }
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }

        // Another key of the same merchant has its own bucket, full.
        var others = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => StatusAsync(second, $"/v1/payments/{Ids.New("po")}")));
        Assert.All(others, status => Assert.Equal(HttpStatusCode.NotFound, status));
    }

    [Fact]
    public async Task A_refused_checkout_post_changes_nothing()
    {
        using var merchant = fixture.Server.CreateClient(RateLimitServerFixture.Keys[2]);
        await ExhaustAsync(merchant, () => merchant.GetAsync($"/v1/payments/{Ids.New("po")}"));
        var checkoutId = Ids.New("chk");

        using (var refused = await merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, "pm_card_visa", (Ids.New("po"), Ids.New("seller"), "5.00", "USD")), Ids.New("key")))
        {
            await AssertRateLimitedAsync(refused);
        }

        // Once the bucket has a permit again: the refused checkout does not exist.
        var status = await Eventually.MatchesAsync(() => StatusAsync(merchant, $"/v1/checkouts/{checkoutId}"),
            status => status != HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(15), "a permit for the merchant's key again");
        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task Psp_webhooks_have_their_own_bucket_apart_from_the_merchants()
    {
        using var merchant = fixture.Server.CreateClient(RateLimitServerFixture.Keys[3]);
        using var otherMerchant = fixture.Server.CreateClient(RateLimitServerFixture.Keys[4]);
        using var psp = fixture.Server.CreateClient(apiKey: null);
        const string payload = """{"id":"evt_rate_limit","type":"payment_intent.succeeded"}""";

        // A merchant's empty bucket does not hold up the PSP's webhooks (refused for their signature, not their rate).
        await ExhaustAsync(merchant, () => merchant.GetAsync($"/v1/payments/{Ids.New("po")}"));
        using (var webhook = await psp.DeliverAsync(payload, "t=1,v1=00"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, webhook.StatusCode);
        }

        // The webhooks' own bucket empties, and the PSP hears 429 (it retries later)...
        await ExhaustAsync(psp, () => psp.DeliverAsync(payload, "t=1,v1=00"));

        // ...while another merchant's key is not affected.
        var others = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => StatusAsync(otherMerchant, $"/v1/payments/{Ids.New("po")}")));
        Assert.All(others, status => Assert.Equal(HttpStatusCode.NotFound, status));
    }

    [Fact]
    public async Task Requests_without_a_valid_key_share_their_ip_bucket_and_health_and_openapi_are_not_limited()
    {
        // A fresh unknown key for every request does not buy a fresh bucket: they all count against the client's IP.
        var statuses = await Task.WhenAll(Enumerable.Range(0, Burst + 3).Select(async _ =>
        {
            using var unknown = fixture.Server.CreateClient(Ids.New("sk_test_unknown"));
            return await StatusAsync(unknown, $"/v1/payments/{Ids.New("po")}");
        }));
        Assert.All(statuses, status => Assert.Contains(status, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests }));
        Assert.InRange(statuses.Count(status => status == HttpStatusCode.Unauthorized), Burst, Burst + 1);

        using var anonymous = fixture.Server.CreateClient(apiKey: null);
        using (var refused = await anonymous.GetAsync($"/v1/checkouts/{Ids.New("chk")}"))
        {
            // Unless a second passed since the burst: then the refill's permit answers 401 and the next is refused.
            if (refused.StatusCode != HttpStatusCode.TooManyRequests)
            {
                await ExhaustAsync(anonymous, () => anonymous.GetAsync($"/v1/checkouts/{Ids.New("chk")}"));
            }
            else
            {
                await AssertRateLimitedAsync(refused);
            }
        }

        for (var i = 0; i < Burst * 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(anonymous, "/health/live"));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(anonymous, "/openapi/v1.json"));
        }

        // A valid key is not in the IP's bucket.
        using var merchant = fixture.Server.CreateClient(RateLimitServerFixture.Keys[5]);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(merchant, $"/v1/payments/{Ids.New("po")}"));
    }

    /// <summary>Sends requests one at a time until one is refused, and checks that one.</summary>
    private static async Task ExhaustAsync(HttpClient client, Func<Task<HttpResponseMessage>> send)
    {
        for (var i = 0; i < Burst * 4; i++)
        {
            using var response = await send();
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await AssertRateLimitedAsync(response);
                return;
            }
        }

        Assert.Fail($"{Burst * 4} requests in a row were not refused.");
    }

    private static async Task AssertRateLimitedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.ContentType()?.MediaType);
        var problem = await response.JsonAsync();
        Assert.Equal("rate_limited", problem.Str("code"));
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Equal("https://docs.payments-orleans.dev/errors/rate_limited", problem.Str("type"));
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(Burst));
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }
}
