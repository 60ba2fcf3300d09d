using System.Net;
using System.Text;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

[Collection(ServerCollection.Name)]
public sealed class ValidationTests(ServerFixture fixture)
{
    private const string CheckoutIdMarker = "CHECKOUT_ID";
    private const string OrderIdMarker = "ORDER_ID";

    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    public static TheoryData<string, string, string, string> InvalidBodies() => new()
    {
        // name, body (CHECKOUT_ID / ORDER_ID replaced by fresh ids), expected code, field named in errors ("" when none)
        { "not json", "{\"checkout_id\": ", "invalid_json", "" },
        { "array body", "[]", "validation_failed", "$" },
        { "amount as number", Body(amount: "100.00", amountJson: "100.00"), "validation_failed", "orders[0].amount" },
        { "too many decimals", Body(amount: "1.001"), "validation_failed", "orders[0].amount" },
        { "decimals in KRW", Body(amount: "5000.5", currency: "KRW"), "validation_failed", "orders[0].amount" },
        { "zero amount", Body(amount: "0.00"), "validation_failed", "orders[0].amount" },
        { "negative amount", Body(amount: "-1.00"), "validation_failed", "orders[0].amount" },
        { "exponent", Body(amount: "1e3"), "validation_failed", "orders[0].amount" },
        { "overflowing amount", Body(amount: "92233720368547758.08"), "validation_failed", "orders[0].amount" },
        { "amount over the order ceiling", Body(amount: "1000000000.00"), "validation_failed", "orders[0].amount" },
        { "64-bit amount within range but over the ceiling", Body(amount: "92233720368547758.07"), "validation_failed", "orders[0].amount" },
        { "JPY over the order ceiling", Body(amount: "1000000000", currency: "JPY"), "validation_failed", "orders[0].amount" },
        { "lower-case currency", Body(currency: "usd"), "validation_failed", "orders[0].currency" },
        { "unknown currency", Body(currency: "XYZ"), "validation_failed", "orders[0].currency" },
        { "bad checkout id", Body(checkoutId: "chk with space"), "validation_failed", "checkout_id" },
        { "checkout id too long", Body(checkoutId: new string('c', 65)), "validation_failed", "checkout_id" },
        { "bad order id", Body(orderId: "po/1"), "validation_failed", "orders[0].payment_order_id" },
        { "no orders", "{\"checkout_id\":\"CHECKOUT_ID\",\"buyer\":{\"id\":\"b\"},\"payment_method\":{\"type\":\"token\",\"token\":\"pm_card_visa\"},\"orders\":[]}", "validation_failed", "orders" },
        { "101 orders", ManyOrders(101), "validation_failed", "orders" },
        { "duplicate order ids", "{\"checkout_id\":\"CHECKOUT_ID\",\"buyer\":{\"id\":\"b\"},\"payment_method\":{\"type\":\"token\",\"token\":\"pm_card_visa\"},\"orders\":[{\"payment_order_id\":\"ORDER_ID\",\"seller_account\":\"s1\",\"amount\":\"1.00\",\"currency\":\"USD\"},{\"payment_order_id\":\"ORDER_ID\",\"seller_account\":\"s2\",\"amount\":\"2.00\",\"currency\":\"USD\"}]}", "validation_failed", "orders[1].payment_order_id" },
        { "missing buyer", "{\"checkout_id\":\"CHECKOUT_ID\",\"payment_method\":{\"type\":\"token\",\"token\":\"pm_card_visa\"},\"orders\":[{\"payment_order_id\":\"ORDER_ID\",\"seller_account\":\"s1\",\"amount\":\"1.00\",\"currency\":\"USD\"}]}", "validation_failed", "buyer" },
        { "unknown payment method type", Body(methodType: "cash"), "validation_failed", "payment_method.type" },
        { "card number in a field", Body(token: "4242424242424242"), "card_data_not_accepted", "" },
        { "card number with spaces in an extra field", Body(extra: "\"card\":\"4000 0000 0000 0002\","), "card_data_not_accepted", "" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Invalid_body_is_400_with_its_code_and_creates_nothing(string name, string template, string code, string field)
    {
        var (checkoutId, orderId) = (Ids.New("chk"), Ids.New("po"));
        var body = template.Replace(CheckoutIdMarker, checkoutId, StringComparison.Ordinal).Replace(OrderIdMarker, orderId, StringComparison.Ordinal);

        using var response = await _merchant.PostRawAsync("/v1/payments", body, Ids.New("key"));
        var problem = await response.JsonAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name}: {(int)response.StatusCode} {problem}");
        Assert.Equal("application/problem+json", response.ContentType()?.MediaType);
        Assert.Equal(code, problem.Str("code"));
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        if (field.Length > 0)
        {
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{name}: no error for {field} in {problem}");
        }

        Assert.DoesNotContain("4242424242424242", problem.ToString(), StringComparison.Ordinal);
        await _merchant.GetJsonAsync($"/v1/checkouts/{checkoutId}", HttpStatusCode.NotFound);
        await _merchant.GetJsonAsync($"/v1/payments/{orderId}", HttpStatusCode.NotFound);
        Assert.Empty(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Fact]
    public async Task An_oversized_body_is_413_problem()
    {
        var body = "{\"checkout_id\":\"" + new string('x', 300 * 1024) + "\"}";

        using var response = await _merchant.PostRawAsync("/v1/payments", body, Ids.New("key"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", (await response.JsonAsync()).Str("code"));
    }

    [Fact]
    public async Task Missing_or_unknown_key_is_401_and_a_merchant_key_on_operator_routes_is_403()
    {
        using var anonymous = fixture.Server.CreateClient(apiKey: null);
        using var wrong = fixture.Server.CreateClient("sk_test_nobody");

        var missing = await anonymous.GetJsonAsync("/v1/checkouts/chk_1", HttpStatusCode.Unauthorized);
        var unknown = await wrong.GetJsonAsync("/v1/payments/po_1", HttpStatusCode.Unauthorized);
        var forbidden = await _merchant.GetJsonAsync("/v1/ops/invariants", HttpStatusCode.Forbidden);
        var ledgerForbidden = await _merchant.GetJsonAsync("/v1/ledger/accounts/psp_receivable:stripe/balance", HttpStatusCode.Forbidden);

        Assert.Equal("unauthorized", missing.Str("code"));
        Assert.Equal("unauthorized", unknown.Str("code"));
        Assert.Equal("forbidden", forbidden.Str("code"));
        Assert.Equal("forbidden", ledgerForbidden.Str("code"));
    }

    [Fact]
    public async Task Unknown_routes_and_ids_are_problem_404s()
    {
        var route = await _merchant.GetJsonAsync("/v1/nowhere", HttpStatusCode.NotFound);
        var order = await _merchant.GetJsonAsync("/v1/payments/po_never_created", HttpStatusCode.NotFound);

        Assert.Equal("route_not_found", route.Str("code"));
        Assert.Equal("resource_missing", order.Str("code"));
    }

    private static string Body(string amount = "10.00", string currency = "USD", string checkoutId = CheckoutIdMarker, string orderId = OrderIdMarker,
        string token = "pm_card_visa", string methodType = "token", string extra = "", string? amountJson = null) =>
        $"{{{extra}\"checkout_id\":\"{checkoutId}\",\"buyer\":{{\"id\":\"buyer_1\"}},\"payment_method\":{{\"type\":\"{methodType}\",\"token\":\"{token}\"}}," +
        $"\"orders\":[{{\"payment_order_id\":\"{orderId}\",\"seller_account\":\"seller_1\",\"amount\":{amountJson ?? $"\"{amount}\""},\"currency\":\"{currency}\"}}]}}";

    private static string ManyOrders(int count)
    {
        var orders = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            orders.Append(i == 0 ? string.Empty : ",").Append($"{{\"payment_order_id\":\"{(i == 0 ? OrderIdMarker : $"po_many_{i}")}\",\"seller_account\":\"s\",\"amount\":\"1.00\",\"currency\":\"USD\"}}");
        }

        return $"{{\"checkout_id\":\"{CheckoutIdMarker}\",\"buyer\":{{\"id\":\"b\"}},\"payment_method\":{{\"type\":\"token\",\"token\":\"pm_card_visa\"}},\"orders\":[{orders}]}}";
    }
}
