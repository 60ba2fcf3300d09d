using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Core.Internal;
using Payments.Api.Refunds;
using Payments.Core.Idempotency;
using Payments.Core.PaymentOrders;
using Payments.Tests.Infrastructure;
using Payments.Tests.Ledger;

namespace Payments.Tests.Api;

/// <summary>
/// A refund's id is its PSP idempotency key and its ledger external id, so the same Idempotency-Key on two orders must name two
/// refunds; and a refund made before the order was part of the id is still found by the request retried after the upgrade.
/// In the ledger-dedup collection: it removes an Idempotency-Key's record and deactivates grains, which a shared server should not see.
/// </summary>
[Collection(LedgerDedupCollection.Name)]
public sealed class RefundIdAcrossOrdersTests(ServerFixture fixture)
{
    private const string MerchantId = "merchant_a";

    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);

    private IGrainFactory Grains => fixture.Server.Server.Services.GetRequiredService<IGrainFactory>();

    [Fact]
    public async Task The_same_key_on_another_order_once_its_record_is_gone_is_another_refund()
    {
        var (first, second) = (await PaidOrderAsync("20.00"), await PaidOrderAsync("30.00"));
        var key = Ids.New("key");

        using var onFirst = await _merchant.PostJsonAsync($"/v1/payments/{first}/refunds", new { amount = "5.00" }, key);
        Assert.Equal(HttpStatusCode.Created, onFirst.StatusCode);
        await ForgetKeyAsync(key);
        using var onSecond = await _merchant.PostJsonAsync($"/v1/payments/{second}/refunds", new { amount = "5.00" }, key);

        Assert.Equal(HttpStatusCode.Created, onSecond.StatusCode);
        Assert.False(onSecond.Headers.Contains("Idempotent-Replayed"));
        var (firstRefund, secondRefund) = (await onFirst.JsonAsync(), await onSecond.JsonAsync());
        Assert.Equal(RefundsApi.RefundId(MerchantId, first, key), firstRefund.Str("refund_id"));
        Assert.Equal(RefundsApi.RefundId(MerchantId, second, key), secondRefund.Str("refund_id"));
        Assert.NotEqual(firstRefund.Str("refund_id"), secondRefund.Str("refund_id"));
        Assert.Equal((second, "SUCCEEDED"), (secondRefund.Str("payment_order_id"), secondRefund.Str("status")));
        Assert.Equal(1, await RefundBookingsAsync(first));
        Assert.Equal(1, await RefundBookingsAsync(second));
        Assert.Equal("5.00", (await _merchant.GetJsonAsync($"/v1/payments/{second}")).Str("refunded_amount"));
    }

    [Fact]
    public async Task A_refund_made_under_the_legacy_id_is_found_by_the_request_retried_after_the_upgrade()
    {
        var orderId = await PaidOrderAsync("20.00");
        var key = Ids.New("key");
        // The request's first run, before the upgrade: it made the refund under the id of merchant and key, then died
        // before its Idempotency-Key record was completed.
        var legacyId = RefundsApi.LegacyRefundId(MerchantId, key);
        var made = await Grains.GetGrain<IPaymentOrderGrain>(orderId).RefundAsync(new CreateRefund(legacyId, 500, Reason: null));
        Assert.Equal(CreateRefundOutcome.Created, made.Outcome);

        using var retried = await _merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "5.00" }, key);

        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal(legacyId, (await retried.JsonAsync()).Str("refund_id"));
        Assert.Equal("5.00", (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).Str("refunded_amount"));
        Assert.Equal(1, await RefundBookingsAsync(orderId));
    }

    private async Task<string> PaidOrderAsync(string amount)
    {
        var orderId = Ids.New("po");
        using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, Ids.New("seller"), amount, "USD")), Ids.New("key"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return orderId;
    }

    /// <summary>As if the key's record had expired: its stored state is removed and its grain deactivated, so it reads nothing back.</summary>
    private async Task ForgetKeyAsync(string key)
    {
        var grainKey = IdempotencyKeys.GrainKey(MerchantId, key);
        await using (var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString))
        {
            await connection.OpenAsync();
            await using var delete = new NpgsqlCommand("DELETE FROM orleans_grain_state WHERE grain_id_ext LIKE '%' || $1", connection);
            delete.Parameters.AddWithValue(grainKey);
            Assert.Equal(1, await delete.ExecuteNonQueryAsync());
        }

        await Grains.GetGrain<IIdempotencyKeyGrain>(grainKey).AsReference<IGrainManagementExtension>().DeactivateOnIdle();
    }

    private async Task<int> RefundBookingsAsync(string orderId) =>
        (await Eventually.MatchesAsync(async () => (await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}"))
                .GetProperty("transactions").EnumerateArray().Count(transaction => transaction.Str("kind") == "refund"),
            count => count >= 1, TimeSpan.FromSeconds(10), $"{orderId} to book its refund"));
}
