using System.Net;
using Npgsql;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>POST /v1/psp/webhooks: only correctly signed, fresh events count; duplicates and stale events change nothing.</summary>
[Collection(ServerCollection.Name)]
public sealed class WebhookTests(ServerFixture fixture)
{
    private readonly HttpClient _anonymous = fixture.Server.CreateClient(apiKey: null);
    private readonly HttpClient _merchant = fixture.Server.CreateClient();

    public static TheoryData<string, string?> BadSignatures() => new()
    {
        { "missing", null },
        { "wrong secret", "whsec_someone_else" },
        { "expired", "expired" },
        { "garbage", "garbage" },
    };

    [Theory]
    [MemberData(nameof(BadSignatures))]
    public async Task A_badly_signed_event_is_400_invalid_signature_and_changes_nothing(string name, string? how)
    {
        var orderId = await PaymentRequiringActionAsync();
        var order = await _merchant.GetJsonAsync($"/v1/payments/{orderId}");
        var payload = StripeEvents.PaymentIntentEvent("payment_intent.succeeded", order.Str("psp_reference"), orderId, "succeeded");
        var signature = how switch
        {
            null => null,
            "expired" => StripeEvents.Signature(payload, TestServer.WebhookSecret, DateTimeOffset.UtcNow.AddSeconds(-301)),
            "garbage" => "t=abc,v1=zz",
            _ => StripeEvents.Signature(payload, how, DateTimeOffset.UtcNow),
        };

        using var response = await _anonymous.DeliverAsync(payload, signature);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name}: {(int)response.StatusCode}");
        Assert.Equal("invalid_signature", (await response.JsonAsync()).Str("code"));
        Assert.Equal("REQUIRES_ACTION", (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).Str("status"));
    }

    [Fact]
    public async Task An_event_signed_with_a_secret_being_rotated_in_is_accepted()
    {
        var orderId = await PaymentRequiringActionAsync();
        var reference = (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).Str("psp_reference");
        var payload = StripeEvents.PaymentIntentEvent("payment_intent.succeeded", reference, orderId, "succeeded");

        using var response = await _anonymous.DeliverAsync(payload, StripeEvents.Signature(payload, TestServer.RotatedWebhookSecret, DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("applied", (await response.JsonAsync()).Str("outcome"));
        Assert.Equal("SUCCESS", (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).Str("status"));
    }

    [Fact]
    public async Task Duplicate_and_out_of_order_events_change_nothing()
    {
        var orderId = await PaymentRequiringActionAsync();
        var reference = (await _merchant.GetJsonAsync($"/v1/payments/{orderId}")).Str("psp_reference");
        var succeeded = StripeEvents.PaymentIntentEvent("payment_intent.succeeded", reference, orderId, "succeeded");
        var staleFailure = StripeEvents.PaymentIntentEvent("payment_intent.payment_failed", reference, orderId, "requires_payment_method", "card_declined");

        using var first = await _anonymous.DeliverAsync(succeeded, StripeEvents.Signature(succeeded, TestServer.WebhookSecret, DateTimeOffset.UtcNow));
        using var again = await _anonymous.DeliverAsync(succeeded, StripeEvents.Signature(succeeded, TestServer.WebhookSecret, DateTimeOffset.UtcNow));
        using var late = await _anonymous.DeliverAsync(staleFailure, StripeEvents.Signature(staleFailure, TestServer.WebhookSecret, DateTimeOffset.UtcNow));

        Assert.Equal("applied", (await first.JsonAsync()).Str("outcome"));
        Assert.Equal("duplicate", (await again.JsonAsync()).Str("outcome"));
        Assert.Equal("ignored", (await late.JsonAsync()).Str("outcome"));
        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
            order => order.GetProperty("ledger_updated").GetBoolean(), TimeSpan.FromSeconds(10), "the ledger");
        Assert.Equal("SUCCESS", order.Str("status"));
        Assert.Equal(["NOT_STARTED", "EXECUTING", "REQUIRES_ACTION", "SUCCESS"], order.GetProperty("history").EnumerateArray().Select(entry => entry.Str("status")));
        var wallet = await _merchant.GetJsonAsync($"/v1/sellers/{order.Str("seller_account")}/wallet");
        Assert.Equal("11.00", wallet.GetProperty("balances")[0].Str("pending"));
    }

    [Fact]
    public async Task An_event_for_an_unknown_payment_is_200_and_recorded_for_investigation()
    {
        var unknown = Ids.New("po");
        var payload = StripeEvents.PaymentIntentEvent("payment_intent.succeeded", "pi_unknown", unknown, "succeeded");

        using var response = await _anonymous.DeliverAsync(payload, StripeEvents.Signature(payload, TestServer.WebhookSecret, DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("unknown_payment", (await response.JsonAsync()).Str("outcome"));
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT outcome FROM webhook_events WHERE payment_order_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = unknown });
        Assert.Equal("unknown_payment", await command.ExecuteScalarAsync());
    }

    /// <summary>A 3-D Secure payment left waiting: its real webhook never comes, because the buyer never answers.</summary>
    private async Task<string> PaymentRequiringActionAsync()
    {
        var orderId = Ids.New("po");
        using var created = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_authenticationRequired", (orderId, Ids.New("seller"), "11.00", "USD")), Ids.New("key"));
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        return orderId;
    }
}
