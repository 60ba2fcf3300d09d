using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>A checkout is created with all its orders or not at all: a fault part-way charges nobody behind the client's back.</summary>
[Collection(AbandonedPaymentsCollection.Name)]
public sealed class CheckoutCreationTests(AbandonedPaymentsFixture fixture)
{
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    private string ConnectionString => fixture.Server.Server.DatabaseConnectionString;

    [Fact]
    public async Task A_checkout_whose_second_order_cannot_be_stored_leaves_nothing_and_a_retry_charges_each_order_once()
    {
        var (checkoutId, first, second, key) = (Ids.New("chk"), Ids.New("po"), Ids.New("po"), Ids.New("key"));
        var body = ApiCalls.Checkout(checkoutId, "pm_card_visa", (first, Ids.New("seller"), "10.00", "USD"), (second, Ids.New("seller"), "20.00", "USD"));

        await using (await InjectedFailures.RejectGrainStateWritesAsync(ConnectionString, second))
        {
            using var refused = await _merchant.PostJsonAsync("/v1/payments", body, key);
            Assert.True((int)refused.StatusCode >= 500, $"answered {(int)refused.StatusCode}");
        }

        // The order that was stored is gone again, with the checkout: nothing was or will be charged.
        await _merchant.GetJsonAsync($"/v1/payments/{first}", System.Net.HttpStatusCode.NotFound);
        await _merchant.GetJsonAsync($"/v1/checkouts/{checkoutId}", System.Net.HttpStatusCode.NotFound);
        Assert.Empty(await _psp.PaymentIntentsForAsync(first));

        await AssertRetryChargesEachOrderOnceAsync(body, key, first, second);
    }

    [Fact]
    public async Task An_order_left_by_a_broken_off_checkout_whose_undo_failed_too_is_released_by_its_reminder_uncharged()
    {
        var (checkoutId, first, second, key) = (Ids.New("chk"), Ids.New("po"), Ids.New("po"), Ids.New("key"));
        var body = ApiCalls.Checkout(checkoutId, "pm_card_visa", (first, Ids.New("seller"), "11.00", "USD"), (second, Ids.New("seller"), "22.00", "USD"));

        await using (await InjectedFailures.RejectGrainStateWritesAsync(ConnectionString, second))
        await using (await InjectedFailures.RejectGrainStateClearsAsync(ConnectionString, first))
        await using (await InjectedFailures.RejectGrainStateClearsAsync(ConnectionString, checkoutId))
        {
            using var refused = await _merchant.PostJsonAsync("/v1/payments", body, key);
            Assert.True((int)refused.StatusCode >= 500, $"answered {(int)refused.StatusCode}");
        }

        // The first order and the checkout are stored (their undo was refused); the order's reminder asks the checkout,
        // which was never completed, and the order goes uncharged.
        await Eventually.MatchesAsync(async () =>
            {
                using var response = await _merchant.GetAsync($"/v1/payments/{first}");
                return response.StatusCode;
            },
            status => status == System.Net.HttpStatusCode.NotFound, TimeSpan.FromSeconds(30), $"{first} to be released by its reminder");
        await _merchant.GetJsonAsync($"/v1/checkouts/{checkoutId}", System.Net.HttpStatusCode.NotFound);
        Assert.Empty(await _psp.PaymentIntentsForAsync(first));

        await AssertRetryChargesEachOrderOnceAsync(body, key, first, second);
    }

    private async Task AssertRetryChargesEachOrderOnceAsync(object body, string key, string first, string second)
    {
        using var retried = await _merchant.PostJsonAsync("/v1/payments", body, key);
        Assert.Equal(System.Net.HttpStatusCode.Created, retried.StatusCode);
        var checkout = await retried.JsonAsync();
        Assert.Equal("SUCCEEDED", checkout.Str("status"));
        foreach (var orderId in new[] { first, second })
        {
            Assert.Equal("succeeded", Assert.Single(await _psp.PaymentIntentsForAsync(orderId)).Str("status"));
        }

        await _operator.AssertInvariantsAsync();
    }
}
