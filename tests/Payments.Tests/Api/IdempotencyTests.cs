using System.Net;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

[Collection(ServerCollection.Name)]
public sealed class IdempotencyTests(ServerFixture fixture)
{
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    [Fact]
    public async Task Same_key_and_body_replays_the_first_response_byte_for_byte()
    {
        var (key, orderId) = (Ids.New("key"), Ids.New("po"));
        var body = ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, Ids.New("seller"), "12.34", "USD"));

        using var first = await _merchant.PostJsonAsync("/v1/payments", body, key);
        using var replay = await _merchant.PostJsonAsync("/v1/payments", body, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await replay.Content.ReadAsByteArrayAsync());
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Theory]
    [InlineData("{0}")]
    [InlineData("{")]
    [InlineData("}{x}%s%n\\'\"`$(rm)")]
    [InlineData("inner spaces are part of it")]
    [InlineData("~!@#$^&*()_+-=[]|;:,.<>/?")]
    public async Task Any_printable_ascii_key_works_and_replays(string punctuation)
    {
        var key = punctuation + Ids.New("k");
        var orderId = Ids.New("po");
        var body = ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, Ids.New("seller"), "3.21", "USD"));

        using var first = await _merchant.PostJsonAsync("/v1/payments", body, key);
        using var replay = await _merchant.PostJsonAsync("/v1/payments", body, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Theory]
    [InlineData("tab\tinside")]
    [InlineData("bell\u0007")]
    public async Task A_key_that_is_not_printable_ascii_is_refused_and_creates_nothing(string key)
    {
        var orderId = Ids.New("po");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payments")
        {
            Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, Ids.New("seller"), "1.00", "USD"))), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        using var response = await _merchant.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("idempotency_key_invalid", (await response.JsonAsync()).Str("code"));
        await _merchant.GetJsonAsync($"/v1/payments/{orderId}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_charge_whose_answer_cannot_be_stored_is_still_answered_and_the_key_stays_as_storage_has_it()
    {
        var (key, orderId) = (Ids.New("key"), Ids.New("po"));
        var body = ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, Ids.New("seller"), "4.56", "USD"));
        var grainKey = Payments.Core.Idempotency.IdempotencyKeys.GrainKey("merchant_a", key);
        HttpStatusCode first;
        // Only the write that completes the key fails: its begin is stored, its answer is not.
        await using (await InjectedFailures.RejectGrainStateWritesAsync(fixture.Server.Server.DatabaseConnectionString, grainKey, payloadContains: "\"Completed\":true"))
        {
            using var response = await _merchant.PostJsonAsync("/v1/payments", body, key);
            first = response.StatusCode;
        }

        using var again = await _merchant.PostJsonAsync("/v1/payments", body, key);

        // The charge happened, so its answer is given; the key, stored as locked, is in use (not replayed from memory).
        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("idempotency_key_in_use", (await again.JsonAsync()).Str("code"));
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Fact]
    public async Task Same_key_with_another_body_is_422_and_changes_nothing()
    {
        var key = Ids.New("key");
        var checkoutId = Ids.New("chk");
        using var first = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, "pm_card_visa", (Ids.New("po"), Ids.New("seller"), "1.00", "USD")), key);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var otherOrder = Ids.New("po");

        using var reused = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (otherOrder, Ids.New("seller"), "2.00", "USD")), key);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal("application/problem+json", reused.ContentType()?.MediaType);
        Assert.Equal("idempotency_key_reused", (await reused.JsonAsync()).Str("code"));
        await _merchant.GetJsonAsync($"/v1/payments/{otherOrder}", HttpStatusCode.NotFound);
        Assert.Empty(await _psp.PaymentIntentsForAsync(otherOrder));
    }

    [Fact]
    public async Task A_post_without_key_is_400_and_creates_nothing()
    {
        var (checkoutId, orderId) = (Ids.New("chk"), Ids.New("po"));

        using var response = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, "pm_card_visa", (orderId, Ids.New("seller"), "1.00", "USD")), idempotencyKey: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("idempotency_key_missing", (await response.JsonAsync()).Str("code"));
        await _merchant.GetJsonAsync($"/v1/checkouts/{checkoutId}", HttpStatusCode.NotFound);
        Assert.Empty(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Fact]
    public async Task The_same_checkout_under_a_new_key_returns_it_and_a_different_body_is_checkout_exists()
    {
        var (checkoutId, orderId, seller) = (Ids.New("chk"), Ids.New("po"), Ids.New("seller"));
        var body = ApiCalls.Checkout(checkoutId, "pm_card_visa", (orderId, seller, "3.00", "USD"));
        using var first = await _merchant.PostJsonAsync("/v1/payments", body, Ids.New("key"));
        using var again = await _merchant.PostJsonAsync("/v1/payments", body, Ids.New("key"));
        using var different = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, "pm_card_visa", (orderId, seller, "4.00", "USD")), Ids.New("key"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal("SUCCEEDED", (await again.JsonAsync()).Str("status"));
        Assert.Equal(HttpStatusCode.Conflict, different.StatusCode);
        Assert.Equal("checkout_exists", (await different.JsonAsync()).Str("code"));
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Fact]
    public async Task Twenty_concurrent_identical_posts_make_one_payment_intent_per_order()
    {
        var key = Ids.New("key");
        var orders = Enumerable.Range(0, 3).Select(_ => (Ids.New("po"), Ids.New("seller"), "9.99", "USD")).ToArray();
        var body = ApiCalls.Checkout(Ids.New("chk"), "pm_card_mastercard", orders);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _merchant.PostJsonAsync("/v1/payments", body, key)));

        var statuses = responses.Select(response => response.StatusCode).ToArray();
        Assert.All(statuses, status => Assert.Contains(status, new[] { HttpStatusCode.Created, HttpStatusCode.Conflict }));
        Assert.Contains(HttpStatusCode.Created, statuses);
        foreach (var conflict in responses.Where(response => response.StatusCode == HttpStatusCode.Conflict))
        {
            Assert.Equal("idempotency_key_in_use", (await conflict.JsonAsync()).Str("code"));
            Assert.True(conflict.Headers.RetryAfter is not null, "409 without Retry-After");
        }

        foreach (var (orderId, _, _, _) in orders)
        {
            Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
            var order = await _merchant.GetJsonAsync($"/v1/payments/{orderId}");
            Assert.Equal("SUCCESS", order.Str("status"));
            Assert.Equal(1, order.GetProperty("attempts").GetInt32());
        }

        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}
