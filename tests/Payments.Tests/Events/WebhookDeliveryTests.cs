using System.Net;
using System.Text.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Events;

/// <summary>Merchant webhooks end to end: a receiver on loopback gets the events of the log, signed, in order per payment order.</summary>
[Collection(EventsServerCollection.Name)]
public sealed class WebhookDeliveryTests(EventsServerFixture fixture)
{
    private static readonly TimeSpan DeliveryWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_receiver_gets_every_event_of_a_checkout_a_refund_and_a_payout_signed_with_its_secret()
    {
        using var merchant = fixture.Server.CreateClient(EventsServerFixture.KeyOf("merchant_ev1"));
        await using var receiver = await WebhookReceiver.StartAsync();
        var secret = await SetEndpointAsync(merchant, receiver.Url);
        Assert.StartsWith("whsec_", secret);

        var seller = Ids.New("seller");
        var checkoutId = Ids.New("chk");
        var orderId = Ids.New("po");
        using (var paid = await merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, "pm_card_visa", (orderId, seller, "50.00", "USD")), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, paid.StatusCode);
        }

        using (var refund = await merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "5.00" }, Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, refund.StatusCode);
        }

        await Eventually.MatchesAsync(() => merchant.GetJsonAsync($"/v1/payments/{orderId}"), order => order.Str("refunded_amount") == "5.00", DeliveryWait, "the refund to succeed");
        await merchant.FulfillAsync(orderId);
        using (var settings = await merchant.PutJsonAsync($"/v1/sellers/{seller}/payout_settings", new { destination = "ba_sim_ok" }))
        {
            Assert.Equal(HttpStatusCode.OK, settings.StatusCode);
        }

        var payoutId = Ids.New("pay");
        using (var payout = await merchant.PostJsonAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD", amount = "20.00" }, Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, payout.StatusCode);
        }

        string[] expected = ["payment_order.succeeded", "checkout.completed", "refund.succeeded", "payout.paid"];
        var delivered = await Eventually.MatchesAsync(() => Task.FromResult(receiver.Accepted), accepted => accepted.Count >= expected.Length, DeliveryWait, "four deliveries");
        Assert.Equal(expected, delivered.Select(webhook => webhook.Type));
        Assert.All(delivered, webhook => Assert.True(webhook.IsSignedWith(secret), $"{webhook.Type} is signed with the endpoint's secret: {webhook.Signature}"));
        Assert.All(delivered, webhook => Assert.False(webhook.IsSignedWith("whsec_someone_else")));
        Assert.All(delivered, webhook => Assert.InRange(webhook.Timestamp, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1));

        // data.object is the resource as its GET route showed it at the event.
        var succeeded = delivered[0].Object;
        Assert.Equal((orderId, checkoutId, "SUCCESS", "50.00", "USD", "0.00"),
            (succeeded.Str("payment_order_id"), succeeded.Str("checkout_id"), succeeded.Str("status"), succeeded.Str("amount"), succeeded.Str("currency"), succeeded.Str("refunded_amount")));
        var completed = delivered[1].Object;
        Assert.Equal((checkoutId, "SUCCEEDED", true), (completed.Str("checkout_id"), completed.Str("status"), completed.GetProperty("is_payment_done").GetBoolean()));
        Assert.Equal(orderId, Assert.Single(completed.GetProperty("orders").EnumerateArray()).Str("payment_order_id"));
        var refunded = delivered[2].Object;
        Assert.Equal((orderId, "5.00", "SUCCEEDED"), (refunded.Str("payment_order_id"), refunded.Str("amount"), refunded.Str("status")));
        var paidOut = delivered[3].Object;
        Assert.Equal((payoutId, seller, "20.00", "PAID"), (paidOut.Str("payout_id"), paidOut.Str("seller_account"), paidOut.Str("amount"), paidOut.Str("status")));

        // The log lists the same events, with the same ids, in the same order; each was delivered once.
        var log = await merchant.GetJsonAsync("/v1/events");
        var logged = log.GetProperty("events").EnumerateArray().ToArray();
        Assert.Equal(delivered.Select(webhook => webhook.Id), logged.Select(entry => entry.Str("id")));
        Assert.Equal(expected, logged.Select(entry => entry.Str("type")));
        Assert.Equal(JsonSerializer.Serialize(delivered[3].Event), JsonSerializer.Serialize(logged[3]));
        Assert.False(log.GetProperty("has_more").GetBoolean());
        Assert.Equal(expected.Length, receiver.Received.Count);
        await fixture.Server.CreateClient(TestServer.OperatorKey).AssertInvariantsAsync();
    }

    [Fact]
    public async Task A_receiver_that_fails_for_a_while_gets_the_events_later_in_order_and_operators_see_it_failing()
    {
        using var merchant = fixture.Server.CreateClient(EventsServerFixture.KeyOf("merchant_ev2"));
        using var operatorClient = fixture.Server.CreateClient(TestServer.OperatorKey);
        await using var receiver = await WebhookReceiver.StartAsync();
        var secret = await SetEndpointAsync(merchant, receiver.Url);
        receiver.FailNext(int.MaxValue);

        var orderId = await merchant.PayAsync(Ids.New("seller"), "30.00");
        foreach (var amount in new[] { "1.00", "2.00", "3.00" })
        {
            using var refund = await merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount }, Ids.New("key"));
            Assert.Equal(HttpStatusCode.Created, refund.StatusCode);
        }

        await Eventually.MatchesAsync(() => merchant.GetJsonAsync($"/v1/payments/{orderId}"), order => order.Str("refunded_amount") == "6.00", DeliveryWait, "the refunds to succeed");
        // Failing, retried: the order's first event is attempted again and again, and nothing of the order passes it.
        await Eventually.MatchesAsync(() => Task.FromResult(receiver.Received.Count(webhook => webhook.Object.TryGetProperty("status", out var status) && status.GetString() == "SUCCESS")), count => count >= 3,
            DeliveryWait, "the order's event to be retried");
        Assert.DoesNotContain(receiver.Received, webhook => webhook.Type == "refund.succeeded");
        var failing = await operatorClient.GetJsonAsync("/v1/ops/webhook-deliveries?status=failing");
        var endpoint = Assert.Single(failing.GetProperty("endpoints").EnumerateArray(), entry => entry.Str("merchant_id") == "merchant_ev2");
        Assert.Equal(receiver.Url.ToString(), endpoint.Str("url"));
        Assert.Equal(500, endpoint.GetProperty("last_status_code").GetInt32());
        Assert.True(endpoint.GetProperty("deliveries").GetInt64() >= 1);

        receiver.FailNext(0);
        string[] orderEvents = ["payment_order.succeeded", "refund.succeeded", "refund.succeeded", "refund.succeeded"];
        var accepted = await Eventually.MatchesAsync(() => Task.FromResult(receiver.Accepted), all => all.Count >= orderEvents.Length + 1, DeliveryWait, "every event once the receiver recovers");
        var ofTheOrder = accepted.Where(webhook => webhook.Type != "checkout.completed").ToArray();
        Assert.Equal(orderEvents, ofTheOrder.Select(webhook => webhook.Type));
        Assert.Equal(["1.00", "2.00", "3.00"], ofTheOrder.Skip(1).Select(webhook => webhook.Object.Str("amount")));
        Assert.Single(accepted, webhook => webhook.Type == "checkout.completed");
        Assert.All(accepted, webhook => Assert.True(webhook.IsSignedWith(secret)));
        var log = (await merchant.GetJsonAsync("/v1/events")).GetProperty("events").EnumerateArray().Select(entry => entry.Str("id")).ToArray();
        Assert.Equal(log.Order(), accepted.Select(webhook => webhook.Id).Order());
        await Eventually.MatchesAsync(() => operatorClient.GetJsonAsync("/v1/ops/webhook-deliveries?status=failing"),
            page => page.GetProperty("endpoints").EnumerateArray().All(entry => entry.Str("merchant_id") != "merchant_ev2"), DeliveryWait, "the endpoint to stop failing");

        // A rotated secret: for a while each delivery is signed with the new secret and the old one.
        using var rotated = await merchant.PutJsonAsync("/v1/webhook_endpoint", new { url = receiver.Url.ToString(), events = new[] { "*" }, rotate_secret = true });
        var newSecret = (await rotated.JsonAsync()).Str("secret");
        Assert.NotEqual(secret, newSecret);
        var declined = Ids.New("po");
        using (var failedPayment = await merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_chargeDeclined", (declined, Ids.New("seller"), "4.00", "USD")), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, failedPayment.StatusCode);
        }

        var failedEvent = await Eventually.MatchesAsync(() => Task.FromResult(receiver.Accepted.FirstOrDefault(webhook => webhook.Type == "payment_order.failed")), webhook => webhook is not null, DeliveryWait, "payment_order.failed");
        Assert.Equal((declined, "FAILED"), (failedEvent!.Object.Str("payment_order_id"), failedEvent.Object.Str("status")));
        Assert.True(failedEvent.IsSignedWith(newSecret));
        Assert.True(failedEvent.IsSignedWith(secret));
        Assert.Equal(3, failedEvent.Signature.Split(',').Length);
    }

    [Fact]
    public async Task Only_event_types_the_endpoint_asked_for_are_delivered_and_a_deleted_endpoint_gets_nothing_more()
    {
        using var merchant = fixture.Server.CreateClient(EventsServerFixture.KeyOf("merchant_ev3"));
        await using var receiver = await WebhookReceiver.StartAsync();
        using (var set = await merchant.PutJsonAsync("/v1/webhook_endpoint", new { url = receiver.Url.ToString(), events = new[] { "payment_order.failed" } }))
        {
            var endpoint = await set.JsonAsync();
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
            Assert.Equal(["payment_order.failed"], endpoint.GetProperty("events").EnumerateArray().Select(type => type.GetString()));
        }

        await merchant.PayAsync(Ids.New("seller"), "3.00");
        var declined = Ids.New("po");
        using (var failedPayment = await merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_chargeDeclined", (declined, Ids.New("seller"), "4.00", "USD")), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, failedPayment.StatusCode);
        }

        var delivered = await Eventually.MatchesAsync(() => Task.FromResult(receiver.Accepted), accepted => accepted.Count >= 1, DeliveryWait, "payment_order.failed");
        Assert.Equal(declined, Assert.Single(delivered).Object.Str("payment_order_id"));
        // The log has them all; the endpoint got what it asked for.
        var types = (await merchant.GetJsonAsync("/v1/events")).GetProperty("events").EnumerateArray().Select(entry => entry.Str("type")).ToArray();
        Assert.Equal(["payment_order.succeeded", "checkout.completed", "payment_order.failed", "checkout.completed"], types);

        using (var deleted = await merchant.DeleteAsync("/v1/webhook_endpoint"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            Assert.True((await deleted.JsonAsync()).GetProperty("deleted").GetBoolean());
        }

        using (var missing = await merchant.GetAsync("/v1/webhook_endpoint"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("webhook_endpoint_not_found", (await missing.JsonAsync()).Str("code"));
        }

        var after = Ids.New("po");
        using (var again = await merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_chargeDeclined", (after, Ids.New("seller"), "4.00", "USD")), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        }

        // The event is in the log before the 201 (the order writes it before it answers), and nobody is owed it.
        var failedEvent = (await merchant.GetJsonAsync("/v1/events?type=payment_order.failed&order=desc&limit=1")).GetProperty("events")[0];
        Assert.Equal(after, failedEvent.GetProperty("data").GetProperty("object").Str("payment_order_id"));
        await using var database = Npgsql.NpgsqlDataSource.Create(fixture.Server.Server.DatabaseConnectionString);
        await using var owed = database.CreateCommand("SELECT count(*) FROM webhook_deliveries WHERE merchant_id = 'merchant_ev3' AND (status = 'pending' OR event_id = $1)");
        owed.Parameters.Add(new Npgsql.NpgsqlParameter { Value = failedEvent.Str("id") });
        Assert.Equal(0L, (long)(await owed.ExecuteScalarAsync())!);
        Assert.Single(receiver.Received);
    }

    [Fact]
    public async Task A_checkout_completes_after_every_one_of_its_orders_and_its_event_follows_theirs()
    {
        using var merchant = fixture.Server.CreateClient(EventsServerFixture.KeyOf("merchant_ev6"));
        await using var receiver = await WebhookReceiver.StartAsync();
        var secret = await SetEndpointAsync(merchant, receiver.Url);
        var checkoutId = Ids.New("chk");
        var orders = new[] { Ids.New("po"), Ids.New("po"), Ids.New("po") };
        var body = new
        {
            checkout_id = checkoutId,
            buyer = new { id = "buyer_1", email = "b@example.com" },
            payment_method = new { type = "token", token = "pm_card_visa" },
            orders = orders.Select(order => new { payment_order_id = order, seller_account = Ids.New("seller"), amount = "7.00", currency = "USD" }).ToArray(),
        };
        using (var paid = await merchant.PostJsonAsync("/v1/payments", body, Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, paid.StatusCode);
        }

        var delivered = await Eventually.MatchesAsync(() => Task.FromResult(receiver.Accepted), accepted => accepted.Count >= 4, DeliveryWait, "three orders and the checkout");
        Assert.Equal(["payment_order.succeeded", "payment_order.succeeded", "payment_order.succeeded", "checkout.completed"], delivered.Select(webhook => webhook.Type));
        Assert.Equal(orders.Order(), delivered.Take(3).Select(webhook => webhook.Object.Str("payment_order_id")).Order());
        var completed = delivered[3].Object;
        Assert.Equal((checkoutId, "SUCCEEDED"), (completed.Str("checkout_id"), completed.Str("status")));
        Assert.All(completed.GetProperty("orders").EnumerateArray(), order => Assert.Equal("SUCCESS", order.Str("status")));
        Assert.All(delivered, webhook => Assert.True(webhook.IsSignedWith(secret)));
        Assert.Single((await merchant.GetJsonAsync("/v1/events?type=checkout.completed")).GetProperty("events").EnumerateArray(),
            entry => entry.GetProperty("data").GetProperty("object").Str("checkout_id") == checkoutId);
    }

    internal static async Task<string> SetEndpointAsync(HttpClient merchant, Uri url)
    {
        using var response = await merchant.PutJsonAsync("/v1/webhook_endpoint", new { url = url.ToString(), events = new[] { "*" } });
        var endpoint = await response.JsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, endpoint.ToString());
        Assert.Equal(url.ToString(), endpoint.Str("url"));
        return endpoint.Str("secret");
    }
}
