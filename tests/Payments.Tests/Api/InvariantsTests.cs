using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>
/// A server of its own for tests that break invariants on purpose (a charge behind our back, a ledger past 64 bits), so that
/// the shared server's invariants stay green. SQL pages of 250 rows, so every listing here reads several.
/// </summary>
public sealed class InvariantsServerFixture : DedicatedServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Operations:ListPageSize"] = "250",
    };
}

[CollectionDefinition(Name)]
public sealed class InvariantsServerCollection : ICollectionFixture<InvariantsServerFixture>
{
    public const string Name = "invariants server";
}

/// <summary>GET /v1/ops/invariants against the PSP's own record of charges, and listings that page through everything.</summary>
[Collection(InvariantsServerCollection.Name)]
public sealed class InvariantsTests(InvariantsServerFixture fixture)
{
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);

    [Fact]
    public async Task A_second_charge_made_at_the_psp_behind_our_back_is_a_double_charge()
    {
        var orderId = Ids.New("po");
        await PayAsync(orderId, "pm_card_visa", "SUCCEEDED");
        var second = await ChargeBehindOurBackAsync(orderId);

        var invariants = await _operator.GetJsonAsync("/v1/ops/invariants?psp=full");

        Assert.False(invariants.GetProperty("ok").GetBoolean());
        var check = Check(invariants, "no_double_charge");
        Assert.False(check.GetProperty("ok").GetBoolean());
        var first = await OrderPspReferenceAsync(orderId);
        Assert.Contains($"payment order {orderId} charged 2 times at the PSP ({second}, {first})", check.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_psp_charge_for_a_failed_order_or_for_no_order_is_reported_lost()
    {
        var (failed, unknown) = (Ids.New("po"), Ids.New("po"));
        await PayAsync(failed, "pm_card_chargeDeclined", "FAILED");
        var lost = await ChargeBehindOurBackAsync(failed);
        var stray = await ChargeBehindOurBackAsync(unknown);

        var check = Check(await _operator.GetJsonAsync("/v1/ops/invariants?psp=full"), "psp_charges_match_orders");

        Assert.False(check.GetProperty("ok").GetBoolean());
        Assert.Contains($"PSP charge {lost} for payment order {failed}, which is FAILED and not booked", check.Str("detail"), StringComparison.Ordinal);
        Assert.Contains($"PSP charge {stray} names payment order {unknown}, which does not exist", check.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_booked_pay_in_the_psp_never_charged_is_reported()
    {
        var orderId = Ids.New("po");
        await LedgerSeed.BalancedAsync(fixture.Server.Server.DatabaseConnectionString, $"payin:{orderId}", $"invariants_test:{orderId}:debited",
            $"invariants_test:{orderId}:credited", 500, "USD", kind: "payin", paymentOrderId: orderId);

        var check = Check(await _operator.GetJsonAsync("/v1/ops/invariants?psp=full"), "psp_charges_match_orders");

        Assert.False(check.GetProperty("ok").GetBoolean());
        Assert.Contains($"payment order {orderId} is SUCCESS but the PSP has no succeeded payment intent for it", check.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_seller_balance_past_64_bits_is_a_mismatch_not_a_500()
    {
        var seller = Ids.New("seller");
        const long huge = 5_000_000_000_000_000_000;
        for (var i = 0; i < 2; i++)
        {
            await LedgerSeed.BalancedAsync(fixture.Server.Server.DatabaseConnectionString, Ids.New("ovf_tx"), $"overflow_test:{seller}", $"seller_payable:{seller}:pending", huge, "USD");
        }

        var invariants = await _operator.GetJsonAsync("/v1/ops/invariants");

        var check = Check(invariants, "wallets_match_ledger");
        Assert.False(check.GetProperty("ok").GetBoolean());
        Assert.Contains($"{seller} USD: wallet (pending, available, reserved, paid_out) (0, 0, 0, 0), ledger (10000000000000000000, 0, 0, 0)", check.Str("detail"), StringComparison.Ordinal);
        Assert.True(Check(invariants, "ledger_sums_to_zero").GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task An_unknown_psp_mode_is_refused()
    {
        using var response = await _operator.GetAsync("/v1/ops/invariants?psp=everything");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.Equal("validation_failed", problem.Str("code"));
        Assert.Equal("must be sample (the default) or full", problem.GetProperty("errors").GetProperty("psp")[0].GetString());
    }

    [Fact]
    public async Task More_than_1000_unfinished_orders_are_all_listed()
    {
        // 21 checkouts of 50 orders, each waiting for 3-D Secure: 1050 orders still owing work, 5 SQL pages of 250. One checkout
        // at a time: the point is how many are listed, not how fast they are made.
        var orderIds = new List<string>();
        for (var checkout = 0; checkout < 21; checkout++)
        {
            var (ids, seller) = (Enumerable.Range(0, 50).Select(_ => Ids.New("po")).ToArray(), Ids.New("seller"));
            using var created = await _merchant.PostJsonAsync("/v1/payments",
                ApiCalls.Checkout(Ids.New("chk"), "pm_card_authenticationRequired", ids.Select(id => (id, seller, "1.00", "USD")).ToArray()), Ids.New("key"));
            Assert.True(created.StatusCode == HttpStatusCode.Accepted, await created.Content.ReadAsStringAsync());
            orderIds.AddRange(ids);
        }

        var stuck = await _operator.GetJsonAsync("/v1/ops/stuck-payments?older_than=PT0S");

        var listed = stuck.GetProperty("payments").EnumerateArray().Select(order => order.Str("payment_order_id")).ToHashSet(StringComparer.Ordinal);
        var missing = orderIds.Where(id => !listed.Contains(id)).ToArray();
        Assert.True(missing.Length == 0, $"{missing.Length} of {orderIds.Count} unfinished orders not listed ({listed.Count} listed)");
    }

    private static JsonElement Check(JsonElement invariants, string name) =>
        Assert.Single(invariants.GetProperty("checks").EnumerateArray(), check => check.Str("name") == name);

    private async Task PayAsync(string orderId, string token, string status)
    {
        using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), token, (orderId, Ids.New("seller"), "11.00", "USD")), Ids.New("key"));
        var body = await created.JsonAsync();
        Assert.True(body.Str("status") == status, body.ToString());
    }

    private async Task<string> OrderPspReferenceAsync(string orderId) => (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).Str("psp_reference");

    /// <summary>A charge made straight at the PSP, naming our order in its metadata as our own charges do: not through the order.</summary>
    private async Task<string> ChargeBehindOurBackAsync(string orderId)
    {
        using var psp = fixture.Server.CreatePspClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payment_intents")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["amount"] = "1100",
                ["currency"] = "usd",
                ["payment_method"] = "pm_card_visa",
                ["confirm"] = "true",
                ["metadata[payment_order_id]"] = orderId,
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_behind_our_back");
        using var response = await psp.SendAsync(request);
        var intent = await response.JsonAsync();
        Assert.True(intent.Str("status") == "succeeded", intent.ToString());
        return intent.Str("id");
    }
}
