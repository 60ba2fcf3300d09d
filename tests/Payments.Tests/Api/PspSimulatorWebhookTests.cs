using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Payments.PspSimulator;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>
/// The PSP simulator's hosted pages, refunds and signed webhooks, over HTTP: a browser played by an
/// HttpClient that does not follow redirects, and a small webhook receiver that records what it gets.
/// </summary>
public sealed class PspSimulatorWebhookTests : IDisposable
{
    private const string Secret = "whsec_test_simulator";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "pspsim-webhook-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Hosted_page_with_a_good_card_charges_once_redirects_to_the_shop_and_sends_signed_events()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var simulator = await Simulator.StartAsync(_dataDirectory, receiver.Url);
        var orderId = Ids.New("po");
        var key = Ids.New("key");

        using var created = await simulator.CreateSessionAsync(key, orderId);
        using var replayed = await simulator.CreateSessionAsync(key, orderId);
        var session = await Json(created);
        var sessionId = session["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.StartsWith("cs_", sessionId, StringComparison.Ordinal);
        Assert.Equal("checkout.session", session["object"]!.GetValue<string>());
        Assert.Equal("open", session["status"]!.GetValue<string>());
        Assert.Equal("unpaid", session["payment_status"]!.GetValue<string>());
        Assert.Null(session["payment_intent"]);
        Assert.Equal(2500, session["amount_total"]!.GetValue<long>());
        Assert.Equal("usd", session["currency"]!.GetValue<string>());
        Assert.Equal("chk_1", session["client_reference_id"]!.GetValue<string>());
        Assert.Equal(orderId, session["metadata"]!["payment_order_id"]!.GetValue<string>());
        Assert.Equal("payment", session["mode"]!.GetValue<string>());
        Assert.Equal($"{simulator.Address}_sim/checkout/{sessionId}", session["url"]!.GetValue<string>());
        Assert.Equal("true", Assert.Single(replayed.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(sessionId, (await Json(replayed))["id"]!.GetValue<string>());

        using var page = await simulator.Browser.GetAsync(new Uri(session["url"]!.GetValue<string>()));
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<form method=\"post\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"card_number\"", html, StringComparison.Ordinal);

        using var paid = await simulator.PayAsync(sessionId, "4242 4242 4242 4242");
        using var paidAgain = await simulator.PayAsync(sessionId, "4242 4242 4242 4242");

        Assert.Equal(HttpStatusCode.SeeOther, paid.StatusCode);
        Assert.Equal(new Uri($"https://shop.example/return?session_id={sessionId}"), paid.Headers.Location);
        Assert.Equal(HttpStatusCode.SeeOther, paidAgain.StatusCode);
        Assert.Equal(paid.Headers.Location, paidAgain.Headers.Location);

        var completed = await simulator.GetJsonAsync($"/v1/checkout/sessions/{sessionId}?expand[0]=payment_intent");
        Assert.Equal("complete", completed["status"]!.GetValue<string>());
        Assert.Equal("paid", completed["payment_status"]!.GetValue<string>());
        var intent = completed["payment_intent"]!;
        Assert.Equal("succeeded", intent["status"]!.GetValue<string>());
        Assert.Equal(2500, intent["amount_received"]!.GetValue<long>());
        Assert.Equal(orderId, intent["metadata"]!["payment_order_id"]!.GetValue<string>());
        var intentId = intent["id"]!.GetValue<string>();
        var charged = Assert.Single(await simulator.IntentsAsync())!;
        Assert.Equal(intentId, charged["id"]!.GetValue<string>());

        var deliveries = await receiver.WaitForAsync(d => d.Count >= 2, "payment_intent.succeeded and checkout.session.completed");
        Assert.Equal(["payment_intent.succeeded", "checkout.session.completed"], deliveries.Select(d => d.Type));
        foreach (var delivery in deliveries)
        {
            AssertSigned(delivery);
            Assert.Equal("application/json", delivery.ContentType?.Split(';')[0]);
            var stripeEvent = delivery.Event;
            Assert.StartsWith("evt_", stripeEvent["id"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal("event", stripeEvent["object"]!.GetValue<string>());
            Assert.Equal(Stripe.StripeConfiguration.ApiVersion, stripeEvent["api_version"]!.GetValue<string>());
            Assert.False(stripeEvent["livemode"]!.GetValue<bool>());
            Assert.Equal(1, stripeEvent["pending_webhooks"]!.GetValue<int>());

            // What the gateway does with it: Stripe.net checks the signature, the age and the API version.
            var parsed = Stripe.EventUtility.ConstructEvent(delivery.Body, delivery.Signature, Secret);
            Assert.Equal(delivery.Type, parsed.Type);
        }

        Assert.Equal(intentId, deliveries[0].Object["id"]!.GetValue<string>());
        Assert.Equal(orderId, deliveries[0].Object["metadata"]!["payment_order_id"]!.GetValue<string>());
        Assert.Equal(sessionId, deliveries[1].Object["id"]!.GetValue<string>());
        Assert.Equal(intentId, deliveries[1].Object["payment_intent"]!.GetValue<string>());
        Assert.Equal("paid", deliveries[1].Object["payment_status"]!.GetValue<string>());

        // The receiver records a delivery before answering it; the simulator counts it once the answer is back.
        var events = await Eventually.MatchesAsync(simulator.EventsAsync, e => e.Count == 2 && e.All(x => x!["delivered"]!.GetValue<bool>()), Deadline, "both events delivered");
        Assert.Equal(deliveries.Select(d => d.Body), events.Select(e => e!["body"]!.GetValue<string>()));
        Assert.All(events, e =>
        {
            Assert.True(e!["delivered"]!.GetValue<bool>());
            Assert.Equal(1, e["attempts"]!.GetValue<int>());
            Assert.Equal(receiver.Url, e["url"]!.GetValue<string>());
        });
    }

    [Fact]
    public async Task Hosted_page_with_a_declined_card_keeps_the_session_open_and_reports_the_failure()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var simulator = await Simulator.StartAsync(_dataDirectory, receiver.Url);
        var orderId = Ids.New("po");
        using var created = await simulator.CreateSessionAsync(Ids.New("key"), orderId);
        var sessionId = (await Json(created))["id"]!.GetValue<string>();

        using var unknownCard = await simulator.PayAsync(sessionId, "1234 5678 9012 3456");
        using var declined = await simulator.PayAsync(sessionId, "4000 0000 0000 0002");

        Assert.Equal(HttpStatusCode.BadRequest, unknownCard.StatusCode);
        Assert.Equal("text/html", unknownCard.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.SeeOther, declined.StatusCode);
        Assert.Equal(new Uri($"https://shop.example/return?session_id={sessionId}"), declined.Headers.Location);
        var session = await simulator.GetJsonAsync($"/v1/checkout/sessions/{sessionId}");
        Assert.Equal("open", session["status"]!.GetValue<string>());
        Assert.Equal("unpaid", session["payment_status"]!.GetValue<string>());
        var intentId = session["payment_intent"]!.GetValue<string>();
        var intent = await simulator.GetJsonAsync($"/v1/payment_intents/{intentId}");
        Assert.Equal("requires_payment_method", intent["status"]!.GetValue<string>());
        Assert.Equal("card_declined", intent["last_payment_error"]!["code"]!.GetValue<string>());
        Assert.Equal("generic_decline", intent["last_payment_error"]!["decline_code"]!.GetValue<string>());

        var failed = Assert.Single(await receiver.WaitForAsync(d => d.Count >= 1, "payment_intent.payment_failed"));
        AssertSigned(failed);
        Assert.Equal("payment_intent.payment_failed", failed.Type);
        Assert.Equal(intentId, failed.Object["id"]!.GetValue<string>());
        Assert.Equal(orderId, failed.Object["metadata"]!["payment_order_id"]!.GetValue<string>());
        Assert.Equal("generic_decline", failed.Object["last_payment_error"]!["decline_code"]!.GetValue<string>());

        // The buyer tries another card on the same page: the same intent is charged, not a second one.
        using var paid = await simulator.PayAsync(sessionId, "4242424242424242");
        Assert.Equal(HttpStatusCode.SeeOther, paid.StatusCode);
        var deliveries = await receiver.WaitForAsync(d => d.Count >= 3, "the events of the second card");
        Assert.Equal(["payment_intent.payment_failed", "payment_intent.succeeded", "checkout.session.completed"], deliveries.Select(d => d.Type));
        Assert.Equal(intentId, deliveries[1].Object["id"]!.GetValue<string>());
        Assert.Single(await simulator.IntentsAsync());
    }

    [Theory]
    [InlineData("approve", "succeeded", "payment_intent.succeeded")]
    [InlineData("fail", "requires_payment_method", "payment_intent.payment_failed")]
    public async Task Three_d_secure_is_finished_on_the_challenge_page_and_reported_by_webhook(string action, string status, string eventType)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var simulator = await Simulator.StartAsync(_dataDirectory, receiver.Url);
        var orderId = Ids.New("po");
        using var created = await simulator.CreateIntentAsync(Ids.New("key"), orderId, "pm_card_authenticationRequired", returnUrl: "https://shop.example/3ds-done");
        var intent = await Json(created);
        var intentId = intent["id"]!.GetValue<string>();
        Assert.Equal("requires_action", intent["status"]!.GetValue<string>());
        Assert.Equal("redirect_to_url", intent["next_action"]!["type"]!.GetValue<string>());
        Assert.Equal("https://shop.example/3ds-done", intent["next_action"]!["redirect_to_url"]!["return_url"]!.GetValue<string>());
        var challenge = intent["next_action"]!["redirect_to_url"]!["url"]!.GetValue<string>();
        Assert.Equal($"{simulator.Address}_sim/authenticate/{intentId}", challenge);

        using var page = await simulator.Browser.GetAsync(new Uri(challenge));
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("value=\"approve\"", html, StringComparison.Ordinal);
        Assert.Contains("value=\"fail\"", html, StringComparison.Ordinal);

        using var answered = await simulator.Browser.PostAsync(
            new Uri(challenge),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["action"] = action }));

        Assert.Equal(HttpStatusCode.SeeOther, answered.StatusCode);
        Assert.StartsWith("https://shop.example/3ds-done?payment_intent=" + intentId, answered.Headers.Location!.ToString(), StringComparison.Ordinal);
        var finished = await simulator.GetJsonAsync($"/v1/payment_intents/{intentId}");
        Assert.Equal(status, finished["status"]!.GetValue<string>());
        if (action == "fail")
        {
            Assert.Equal("payment_intent_authentication_failure", finished["last_payment_error"]!["code"]!.GetValue<string>());
        }

        var deliveries = await receiver.WaitForAsync(d => d.Count >= 2, eventType);
        Assert.Equal(["payment_intent.requires_action", eventType], deliveries.Select(d => d.Type));
        Assert.All(deliveries, AssertSigned);
        Assert.Equal(status, deliveries[1].Object["status"]!.GetValue<string>());
        Assert.Equal(orderId, deliveries[1].Object["metadata"]!["payment_order_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Processing_intent_succeeds_later_and_only_the_webhook_says_so()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var simulator = await Simulator.StartAsync(_dataDirectory, receiver.Url, processingDelayMs: 300);
        using var created = await simulator.CreateIntentAsync(Ids.New("key"), Ids.New("po"), "pm_sim_processing");
        var intent = await Json(created);
        var intentId = intent["id"]!.GetValue<string>();
        Assert.Equal("processing", intent["status"]!.GetValue<string>());

        var succeeded = Assert.Single(await receiver.WaitForAsync(d => d.Count >= 1, "payment_intent.succeeded"));

        Assert.Equal("payment_intent.succeeded", succeeded.Type);
        Assert.Equal(intentId, succeeded.Object["id"]!.GetValue<string>());
        AssertSigned(succeeded);
        Assert.Equal("succeeded", (await simulator.GetJsonAsync($"/v1/payment_intents/{intentId}"))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Processing_intents_left_by_a_stopped_simulator_finish_after_the_restart()
    {
        string intentId;
        await using (var first = await Simulator.StartAsync(_dataDirectory, webhookUrl: null, processingDelayMs: 600_000))
        {
            using var created = await first.CreateIntentAsync(Ids.New("key"), Ids.New("po"), "pm_sim_processing");
            intentId = (await Json(created))["id"]!.GetValue<string>();
        }

        // Restarted with a shorter delay, the intent is overdue: it finishes at start, then its webhook goes out.
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var second = await Simulator.StartAsync(_dataDirectory, receiver.Url, processingDelayMs: 200);
        var overdue = Assert.Single(await receiver.WaitForAsync(d => d.Count >= 1, "the overdue intent's payment_intent.succeeded"));
        using var created2 = await second.CreateIntentAsync(Ids.New("key"), Ids.New("po"), "pm_sim_processing");
        var secondId = (await Json(created2))["id"]!.GetValue<string>();
        var deliveries = await receiver.WaitForAsync(d => d.Count >= 2, "the new intent's payment_intent.succeeded");

        Assert.Equal(intentId, overdue.Object["id"]!.GetValue<string>());
        Assert.Equal("succeeded", overdue.Object["status"]!.GetValue<string>());
        Assert.Equal(secondId, deliveries[1].Object["id"]!.GetValue<string>());
        Assert.Equal("payment_intent.succeeded", deliveries[1].Type);
        Assert.All(await second.IntentsAsync(), i => Assert.Equal("succeeded", i!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Refunds_in_parts_never_exceed_the_charge_and_are_announced()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var simulator = await Simulator.StartAsync(_dataDirectory, receiver.Url);
        var orderId = Ids.New("po");
        using var created = await simulator.CreateIntentAsync(Ids.New("key"), orderId);
        var intent = await Json(created);
        var intentId = intent["id"]!.GetValue<string>();
        var chargeId = intent["latest_charge"]!.GetValue<string>();
        await receiver.WaitForAsync(d => d.Count >= 1, "payment_intent.succeeded");

        var refundKey = Ids.New("key");
        using var partial = await simulator.RefundAsync(refundKey, intentId, amount: 40);
        using var partialReplayed = await simulator.RefundAsync(refundKey, intentId, amount: 40);
        using var tooMuch = await simulator.RefundAsync(Ids.New("key"), intentId, amount: 61);
        using var rest = await simulator.RefundAsync(Ids.New("key"), intentId, amount: null);
        using var nothingLeft = await simulator.RefundAsync(Ids.New("key"), intentId, amount: 1);

        var refund = await Json(partial);
        Assert.Equal(HttpStatusCode.OK, partial.StatusCode);
        Assert.StartsWith("re_", refund["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("refund", refund["object"]!.GetValue<string>());
        Assert.Equal(40, refund["amount"]!.GetValue<long>());
        Assert.Equal("usd", refund["currency"]!.GetValue<string>());
        Assert.Equal(intentId, refund["payment_intent"]!.GetValue<string>());
        Assert.Equal("succeeded", refund["status"]!.GetValue<string>());
        Assert.Equal("requested_by_customer", refund["reason"]!.GetValue<string>());
        Assert.Equal("rf_1", refund["metadata"]!["refund_id"]!.GetValue<string>());
        Assert.Equal(refund["id"]!.GetValue<string>(), (await Json(partialReplayed))["id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, tooMuch.StatusCode);
        var tooMuchError = (await Json(tooMuch))["error"]!;
        Assert.Equal("invalid_request_error", tooMuchError["type"]!.GetValue<string>());
        Assert.Equal("amount_too_large", tooMuchError["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(60, (await Json(rest))["amount"]!.GetValue<long>());
        Assert.Equal(HttpStatusCode.BadRequest, nothingLeft.StatusCode);
        Assert.Equal("charge_already_refunded", (await Json(nothingLeft))["error"]!["code"]!.GetValue<string>());
        Assert.Equal(100, Assert.Single(await simulator.IntentsAsync())!["amount_refunded"]!.GetValue<long>());

        var deliveries = await receiver.WaitForAsync(d => d.Count >= 5, "two refunds' events");
        Assert.Equal(
            ["payment_intent.succeeded", "charge.refunded", "refund.updated", "charge.refunded", "refund.updated"],
            deliveries.Select(d => d.Type));
        Assert.All(deliveries, AssertSigned);
        var firstCharge = deliveries[1].Object;
        Assert.Equal("charge", firstCharge["object"]!.GetValue<string>());
        Assert.Equal(chargeId, firstCharge["id"]!.GetValue<string>());
        Assert.Equal(intentId, firstCharge["payment_intent"]!.GetValue<string>());
        Assert.Equal(100, firstCharge["amount"]!.GetValue<long>());
        Assert.Equal(40, firstCharge["amount_refunded"]!.GetValue<long>());
        Assert.False(firstCharge["refunded"]!.GetValue<bool>());
        Assert.Equal(orderId, firstCharge["metadata"]!["payment_order_id"]!.GetValue<string>());
        Assert.Equal(refund["id"]!.GetValue<string>(), deliveries[2].Object["id"]!.GetValue<string>());
        Assert.Equal(100, deliveries[3].Object["amount_refunded"]!.GetValue<long>());
        Assert.True(deliveries[3].Object["refunded"]!.GetValue<bool>());
    }

    [Fact]
    public async Task An_intent_that_did_not_succeed_cannot_be_refunded()
    {
        await using var simulator = await Simulator.StartAsync(_dataDirectory, webhookUrl: null);
        using var created = await simulator.CreateIntentAsync(Ids.New("key"), Ids.New("po"), "pm_card_chargeDeclined");
        var intentId = (await Json(created))["error"]!["payment_intent"]!["id"]!.GetValue<string>();

        using var refused = await simulator.RefundAsync(Ids.New("key"), intentId, amount: null);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_request_error", (await Json(refused))["error"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_receiver_that_fails_twice_gets_the_event_on_the_third_attempt_signed_anew()
    {
        await using var receiver = await WebhookReceiver.StartAsync(failFirst: 2);
        await using var simulator = await Simulator.StartAsync(_dataDirectory, receiver.Url);
        using var created = await simulator.CreateIntentAsync(Ids.New("key"), Ids.New("po"));

        var attempts = await receiver.WaitForAsync(d => d.Count >= 3, "three attempts");
        var events = await Eventually.MatchesAsync(
            simulator.EventsAsync,
            e => e.Count == 1 && e[0]!["delivered"]!.GetValue<bool>(),
            Deadline,
            "the event marked delivered");

        Assert.Equal([500, 500, 200], attempts.Select(d => d.AnsweredStatus));
        Assert.Single(attempts.Select(d => d.Body).Distinct());
        Assert.All(attempts, AssertSigned);
        Assert.Equal(3, events[0]!["attempts"]!.GetValue<int>());
    }

    [Fact]
    public async Task Duplicate_rate_one_delivers_each_event_twice()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var simulator = await Simulator.StartAsync(_dataDirectory, receiver.Url);
        using (var set = await simulator.SetFaultsAsync("""{ "webhook_duplicate_rate": 1 }"""))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using var created = await simulator.CreateIntentAsync(Ids.New("key"), Ids.New("po"));

        var deliveries = await receiver.WaitForAsync(d => d.Count >= 2, "two deliveries");
        Assert.Equal(2, deliveries.Count);
        Assert.Equal(deliveries[0].Body, deliveries[1].Body);
        Assert.All(deliveries, d => Assert.Equal(200, d.AnsweredStatus));
        var listed = await Eventually.MatchesAsync(simulator.EventsAsync, e => e.Count == 1 && e[0]!["attempts"]!.GetValue<int>() == 2, Deadline, "both deliveries counted");
        Assert.Equal(2, listed[0]!["attempts"]!.GetValue<int>());
    }

    [Fact]
    public async Task Drop_rate_one_records_the_event_but_never_sends_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var simulator = await Simulator.StartAsync(_dataDirectory, receiver.Url);
        using (var set = await simulator.SetFaultsAsync("""{ "webhook_drop_rate": 1 }"""))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using var lost = await simulator.CreateIntentAsync(Ids.New("key"), Ids.New("po"));
        using (var reset = await simulator.SetFaultsAsync("{}"))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        }

        using var kept = await simulator.CreateIntentAsync(Ids.New("key"), Ids.New("po"));
        var keptId = (await Json(kept))["id"]!.GetValue<string>();

        // Events go out in the order they happen: once the later one is in, the dropped one would have been too.
        var deliveries = await receiver.WaitForAsync(d => d.Count >= 1, "the second intent's event");
        var events = await Eventually.MatchesAsync(simulator.EventsAsync, e => e.Count == 2 && e[1]!["delivered"]!.GetValue<bool>(), Deadline, "the second event delivered");

        Assert.Equal(keptId, Assert.Single(deliveries).Object["id"]!.GetValue<string>());
        Assert.False(events[0]!["delivered"]!.GetValue<bool>());
        Assert.True(events[0]!["dropped"]!.GetValue<bool>());
        Assert.Equal(0, events[0]!["attempts"]!.GetValue<int>());
        Assert.Equal((await Json(lost))["id"]!.GetValue<string>(), JsonNode.Parse(events[0]!["body"]!.GetValue<string>())!["data"]!["object"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Reorder_sends_the_events_of_one_moment_newest_first()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var simulator = await Simulator.StartAsync(_dataDirectory, receiver.Url);
        using var created = await simulator.CreateIntentAsync(Ids.New("key"), Ids.New("po"));
        var intentId = (await Json(created))["id"]!.GetValue<string>();
        await receiver.WaitForAsync(d => d.Count >= 1, "payment_intent.succeeded");
        using (var set = await simulator.SetFaultsAsync("""{ "webhook_reorder": true }"""))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        // A refund makes two events at once (charge.refunded, then refund.updated): one held batch.
        using var refund = await simulator.RefundAsync(Ids.New("key"), intentId, amount: null);
        var deliveries = await receiver.WaitForAsync(d => d.Count >= 3, "the refund's events");

        Assert.Equal(["payment_intent.succeeded", "refund.updated", "charge.refunded"], deliveries.Select(d => d.Type));
        Assert.Equal(["payment_intent.succeeded", "charge.refunded", "refund.updated"], (await simulator.EventsAsync()).Select(e => e!["type"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Sessions_and_undelivered_events_survive_a_restart()
    {
        string paidSessionId;
        string openSessionId;
        var orderId = Ids.New("po");
        await using (var first = await Simulator.StartAsync(_dataDirectory, webhookUrl: null))
        {
            using var paidSession = await first.CreateSessionAsync(Ids.New("key"), orderId);
            paidSessionId = (await Json(paidSession))["id"]!.GetValue<string>();
            using var openSession = await first.CreateSessionAsync(Ids.New("key"), Ids.New("po"));
            openSessionId = (await Json(openSession))["id"]!.GetValue<string>();
            using var paid = await first.PayAsync(paidSessionId, "4242 4242 4242 4242");
            Assert.Equal(HttpStatusCode.SeeOther, paid.StatusCode);

            var recorded = await first.EventsAsync();
            Assert.Equal(["payment_intent.succeeded", "checkout.session.completed"], recorded.Select(e => e!["type"]!.GetValue<string>()));
            Assert.All(recorded, e => Assert.False(e!["delivered"]!.GetValue<bool>()));
        }

        await using (var receiver = await WebhookReceiver.StartAsync())
        {
            await using var second = await Simulator.StartAsync(_dataDirectory, receiver.Url);

            var deliveries = await receiver.WaitForAsync(d => d.Count >= 2, "the events recorded before the restart");
            Assert.Equal(["payment_intent.succeeded", "checkout.session.completed"], deliveries.Select(d => d.Type));
            Assert.All(deliveries, AssertSigned);
            Assert.Equal(paidSessionId, deliveries[1].Object["id"]!.GetValue<string>());
            Assert.Equal("complete", (await second.GetJsonAsync($"/v1/checkout/sessions/{paidSessionId}"))["status"]!.GetValue<string>());

            using var page = await second.Browser.GetAsync(new Uri(second.Address, $"/_sim/checkout/{openSessionId}"));
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            using var paidLater = await second.PayAsync(openSessionId, "4242 4242 4242 4242");
            Assert.Equal(HttpStatusCode.SeeOther, paidLater.StatusCode);
            Assert.Equal(4, (await receiver.WaitForAsync(d => d.Count >= 4, "the events of the session paid after the restart")).Count);
            await Eventually.MatchesAsync(second.EventsAsync, e => e.All(x => x!["delivered"]!.GetValue<bool>()), Deadline, "all four marked delivered");
        }

        // And how their delivery went is kept too: a third start has nothing left to send.
        await using var third = await Simulator.StartAsync(_dataDirectory, webhookUrl: null);
        var events = await third.EventsAsync();
        Assert.Equal(4, events.Count);
        Assert.All(events, e =>
        {
            Assert.True(e!["delivered"]!.GetValue<bool>());
            Assert.Equal(1, e["attempts"]!.GetValue<int>());
        });
        Assert.Equal(2, (await third.IntentsAsync()).Count);
        Assert.Equal("complete", (await third.GetJsonAsync($"/v1/checkout/sessions/{openSessionId}"))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stripe_net_creates_and_reads_sessions_and_refunds_and_parses_the_events()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var simulator = await Simulator.StartAsync(_dataDirectory, receiver.Url);
        var orderId = Ids.New("po");
        var client = new Stripe.StripeClient(apiKey: "sk_test_x", apiBase: simulator.Address.ToString().TrimEnd('/'));
        var sessions = new Stripe.Checkout.SessionService(client);

        var session = await sessions.CreateAsync(
            new Stripe.Checkout.SessionCreateOptions
            {
                Mode = "payment",
                SuccessUrl = "https://shop.example/return",
                CancelUrl = "https://shop.example/cancel",
                ClientReferenceId = "chk_sdk",
                LineItems =
                [
                    new Stripe.Checkout.SessionLineItemOptions
                    {
                        Quantity = 1,
                        PriceData = new Stripe.Checkout.SessionLineItemPriceDataOptions
                        {
                            Currency = "eur",
                            UnitAmount = 1234,
                            ProductData = new Stripe.Checkout.SessionLineItemPriceDataProductDataOptions { Name = "Order " + orderId },
                        },
                    },
                ],
                Metadata = new Dictionary<string, string> { ["payment_order_id"] = orderId },
                PaymentIntentData = new Stripe.Checkout.SessionPaymentIntentDataOptions
                {
                    Metadata = new Dictionary<string, string> { ["payment_order_id"] = orderId },
                },
            },
            new Stripe.RequestOptions { IdempotencyKey = Ids.New("key") });

        Assert.Equal("open", session.Status);
        Assert.Equal(1234, session.AmountTotal);
        Assert.Equal("eur", session.Currency);
        Assert.Equal(orderId, session.Metadata["payment_order_id"]);
        using (var paid = await simulator.PayAsync(session.Id, "4242 4242 4242 4242"))
        {
            Assert.Equal(HttpStatusCode.SeeOther, paid.StatusCode);
        }

        var completed = await sessions.GetAsync(session.Id, new Stripe.Checkout.SessionGetOptions { Expand = ["payment_intent"] });
        Assert.Equal("complete", completed.Status);
        Assert.Equal("paid", completed.PaymentStatus);
        Assert.Equal("succeeded", completed.PaymentIntent.Status);
        Assert.Equal(orderId, completed.PaymentIntent.Metadata["payment_order_id"]);

        var refund = await new Stripe.RefundService(client).CreateAsync(
            new Stripe.RefundCreateOptions
            {
                PaymentIntent = completed.PaymentIntentId,
                Amount = 234,
                Reason = "requested_by_customer",
                Metadata = new Dictionary<string, string> { ["refund_id"] = "rf_sdk" },
            },
            new Stripe.RequestOptions { IdempotencyKey = Ids.New("key") });
        Assert.Equal(234, refund.Amount);
        Assert.Equal("succeeded", refund.Status);
        Assert.Equal("rf_sdk", refund.Metadata["refund_id"]);

        var deliveries = await receiver.WaitForAsync(d => d.Count >= 4, "the session's and the refund's events");
        var parsed = deliveries.Select(d => Stripe.EventUtility.ConstructEvent(d.Body, d.Signature, Secret)).ToList();
        Assert.Equal(
            ["payment_intent.succeeded", "checkout.session.completed", "charge.refunded", "refund.updated"],
            parsed.Select(e => e.Type));
        Assert.Equal(orderId, Assert.IsType<Stripe.PaymentIntent>(parsed[0].Data.Object).Metadata["payment_order_id"]);
        Assert.Equal(session.Id, Assert.IsType<Stripe.Checkout.Session>(parsed[1].Data.Object).Id);
        Assert.Equal(234, Assert.IsType<Stripe.Charge>(parsed[2].Data.Object).AmountRefunded);
        Assert.Equal(refund.Id, Assert.IsType<Stripe.Refund>(parsed[3].Data.Object).Id);
    }

    /// <summary>Checks the <c>Stripe-Signature</c> header the way a receiver must: HMAC-SHA256 of "t.body", t recent.</summary>
    private static void AssertSigned(Delivery delivery)
    {
        Assert.NotNull(delivery.Signature);
        var parts = delivery.Signature.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var timestamp = long.Parse(parts["t"], CultureInfo.InvariantCulture);
        Assert.Equal(StripeEvents.Mac(delivery.Body, Secret, parts["t"]), parts["v1"]);
        Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - timestamp, -5, 300);
    }

    private static async Task<JsonNode> Json(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    /// <summary>One POST the receiver got, and what it answered.</summary>
    private sealed record Delivery(string Body, string? Signature, string? ContentType, int AnsweredStatus)
    {
        public JsonNode Event => JsonNode.Parse(Body)!;

        public string Type => Event["type"]!.GetValue<string>();

        public JsonNode Object => Event["data"]!["object"]!;
    }

    /// <summary>A webhook endpoint on a free loopback port that records every POST and fails the first few with 500.</summary>
    private sealed class WebhookReceiver : IAsyncDisposable
    {
        private readonly ConcurrentQueue<Delivery> _deliveries = new();
        private readonly WebApplication _app;
        private int _failuresLeft;

        private WebhookReceiver(int failFirst, string address)
        {
            _failuresLeft = failFirst;
            Url = address + "/webhooks";
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls(address);
            builder.Logging.ClearProviders();
            _app = builder.Build();
            _app.MapPost("/webhooks", ReceiveAsync);
        }

        public string Url { get; }

        public static async Task<WebhookReceiver> StartAsync(int failFirst = 0)
        {
            var receiver = new WebhookReceiver(failFirst, $"http://127.0.0.1:{FreePort.Next()}");
            await receiver._app.StartAsync();
            return receiver;
        }

        /// <summary>What has arrived, in arrival order, once <paramref name="condition"/> holds.</summary>
        public Task<IReadOnlyList<Delivery>> WaitForAsync(Func<IReadOnlyList<Delivery>, bool> condition, string what) =>
            Eventually.MatchesAsync(
                () => Task.FromResult<IReadOnlyList<Delivery>>([.. _deliveries]),
                condition,
                Deadline,
                what);

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private async Task ReceiveAsync(HttpContext http)
        {
            using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(http.RequestAborted);
            var status = Interlocked.Decrement(ref _failuresLeft) >= 0 ? 500 : 200;
            _deliveries.Enqueue(new Delivery(body, http.Request.Headers["Stripe-Signature"].ToString(), http.Request.ContentType, status));
            http.Response.StatusCode = status;
        }
    }

    /// <summary>A simulator on a free loopback port, an API client like Stripe.net's, and a browser that doesn't follow redirects.</summary>
    private sealed class Simulator : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Simulator(WebApplication app, Uri address)
        {
            _app = app;
            Address = address;
            Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
            Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_x");
            Browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        }

        /// <summary>With a trailing slash.</summary>
        public Uri Address { get; }

        public HttpClient Client { get; }

        public HttpClient Browser { get; }

        public static async Task<Simulator> StartAsync(string dataDirectory, string? webhookUrl, int? processingDelayMs = null)
        {
            var url = $"http://127.0.0.1:{FreePort.Next()}";
            string[] args = processingDelayMs is { } delay ? [$"--processing-delay-ms={delay}"] : [];
            var app = PspSimulatorApplication.Build(
                args,
                url,
                dataDirectory,
                webhookUrl is null ? null : new SimulatorWebhookOptions(webhookUrl, Secret));
            await app.StartAsync();
            return new Simulator(app, new Uri(url + "/"));
        }

        public Task<HttpResponseMessage> CreateSessionAsync(string idempotencyKey, string orderId) =>
            PostFormAsync("/v1/checkout/sessions", idempotencyKey, new Dictionary<string, string>
            {
                ["mode"] = "payment",
                ["line_items[0][price_data][currency]"] = "usd",
                ["line_items[0][price_data][unit_amount]"] = "1250",
                ["line_items[0][price_data][product_data][name]"] = "Order " + orderId,
                ["line_items[0][quantity]"] = "2",
                ["success_url"] = "https://shop.example/return",
                ["cancel_url"] = "https://shop.example/cancel",
                ["client_reference_id"] = "chk_1",
                ["metadata[payment_order_id]"] = orderId,
                ["payment_intent_data[metadata][payment_order_id]"] = orderId,
            });

        public Task<HttpResponseMessage> CreateIntentAsync(string idempotencyKey, string orderId, string paymentMethod = "pm_card_visa", string? returnUrl = null)
        {
            var form = new Dictionary<string, string>
            {
                ["amount"] = "100",
                ["currency"] = "usd",
                ["payment_method"] = paymentMethod,
                ["confirm"] = "true",
                ["metadata[payment_order_id]"] = orderId,
            };
            if (returnUrl is not null)
            {
                form["return_url"] = returnUrl;
            }

            return PostFormAsync("/v1/payment_intents", idempotencyKey, form);
        }

        public Task<HttpResponseMessage> RefundAsync(string idempotencyKey, string intentId, long? amount)
        {
            var form = new Dictionary<string, string>
            {
                ["payment_intent"] = intentId,
                ["reason"] = "requested_by_customer",
                ["metadata[refund_id]"] = "rf_1",
            };
            if (amount is { } value)
            {
                form["amount"] = value.ToString(CultureInfo.InvariantCulture);
            }

            return PostFormAsync("/v1/refunds", idempotencyKey, form);
        }

        /// <summary>The buyer submits the hosted page's form.</summary>
        public Task<HttpResponseMessage> PayAsync(string sessionId, string cardNumber) =>
            Browser.PostAsync(
                new Uri($"/_sim/checkout/{sessionId}", UriKind.Relative),
                new FormUrlEncodedContent(new Dictionary<string, string> { ["card_number"] = cardNumber }));

        public Task<HttpResponseMessage> SetFaultsAsync(string json) =>
            Client.PostAsync(new Uri("/_sim/faults", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));

        public async Task<JsonNode> GetJsonAsync(string path) =>
            JsonNode.Parse(await Client.GetStringAsync(new Uri(path, UriKind.Relative)))!;

        public async Task<JsonArray> IntentsAsync() => (await GetJsonAsync("/_sim/payment_intents")).AsArray();

        public async Task<JsonArray> EventsAsync() => (await GetJsonAsync("/_sim/events")).AsArray();

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            Browser.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private async Task<HttpResponseMessage> PostFormAsync(string path, string idempotencyKey, Dictionary<string, string> form)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
            request.Headers.Add("Idempotency-Key", idempotencyKey);
            return await Client.SendAsync(request);
        }
    }
}
