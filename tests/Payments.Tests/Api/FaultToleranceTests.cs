using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Payments.Api.Operations;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>Exactly once when the PSP misbehaves: retries with the same key, dead letters, replays, stuck orders.</summary>
[Collection(ServerCollection.Name)]
public sealed class FaultToleranceTests(ServerFixture fixture)
{
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    [Theory]
    [InlineData("pm_sim_timeout_once", 2)]
    [InlineData("pm_sim_unavailable_twice", 3)]
    public async Task A_fault_token_ends_in_success_with_one_payment_intent(string token, int attempts)
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        // Without webhooks, so that it is our retry that learns the outcome (a webhook would also finish it).
        await SetFaultsAsync(new { webhook_drop_rate = 1.0 });
        HttpResponseMessage response;
        try
        {
            response = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), token, (orderId, seller, "20.00", "USD")), Ids.New("key"));
        }
        finally
        {
            await SetFaultsAsync(new { });
        }

        // Retried by the order's timer within the synchronous window, not left to the minute-long reminder.
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        response.Dispose();
        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
            order => order.GetProperty("ledger_updated").GetBoolean() && order.GetProperty("wallet_updated").GetBoolean(), TimeSpan.FromSeconds(30), $"{orderId} to settle");

        Assert.Equal("SUCCESS", order.Str("status"));
        Assert.Equal(attempts, order.GetProperty("attempts").GetInt32());
        Assert.Equal(JsonValueKind.Null, order.GetProperty("next_retry_at").ValueKind);
        var intent = Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
        Assert.Equal("succeeded", intent.Str("status"));
        Assert.Equal(intent.Str("id"), order.Str("psp_reference"));
        var wallet = await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet");
        Assert.Equal("20.00", wallet.GetProperty("balances")[0].Str("pending"));
    }

    [Fact]
    public async Task An_order_whose_psp_stays_down_is_parked_as_a_dead_letter_and_a_replay_finishes_it()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        await SetFaultsAsync(new { error_rate = 1.0, seed = 1 });
        try
        {
            using var response = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, seller, "30.00", "USD")), Ids.New("key"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var deadLetter = await Eventually.MatchesAsync(() => _operator.DeadLetterAsync(orderId), row => row is not null, TimeSpan.FromSeconds(30), $"{orderId} to be parked");

            Assert.Equal("psp_charge", deadLetter!.Value.Str("stage"));
            Assert.Equal(12, deadLetter.Value.GetProperty("attempts").GetInt32());
            var parked = await _merchant.GetJsonAsync($"/v1/payments/{orderId}");
            Assert.Equal("EXECUTING", parked.Str("status"));
            Assert.Equal(12, parked.GetProperty("attempts").GetInt32());
            Assert.Empty(await _psp.PaymentIntentsForAsync(orderId));
        }
        finally
        {
            await SetFaultsAsync(new { });
        }

        using var replay = await _operator.PostJsonAsync($"/v1/ops/dead-letters/{orderId}/replay", new { }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
            order => order.GetProperty("ledger_updated").GetBoolean(), TimeSpan.FromSeconds(30), $"{orderId} to settle after replay");
        Assert.Equal("SUCCESS", order.Str("status"));
        Assert.Equal(13, order.GetProperty("attempts").GetInt32());
        Assert.Null(await _operator.DeadLetterAsync(orderId));
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
        using var again = await _operator.PostJsonAsync($"/v1/ops/dead-letters/{orderId}/replay", new { }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task A_late_webhook_with_the_outcome_settles_a_parked_order()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        await SetFaultsAsync(new { error_rate = 1.0, seed = 4 });
        try
        {
            using var response = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, seller, "6.00", "USD")), Ids.New("key"));
            await Eventually.MatchesAsync(() => _operator.DeadLetterAsync(orderId), row => row is not null, TimeSpan.FromSeconds(30), $"{orderId} to be parked");
        }
        finally
        {
            await SetFaultsAsync(new { });
        }

        var payload = StripeEvents.PaymentIntentEvent("payment_intent.succeeded", "pi_late_answer", orderId, "succeeded");
        using var delivered = await fixture.Server.CreateClient(apiKey: null).DeliverAsync(payload, StripeEvents.Signature(payload, TestServer.WebhookSecret, DateTimeOffset.UtcNow));

        Assert.Equal("applied", (await delivered.JsonAsync()).Str("outcome"));
        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
            order => order.GetProperty("ledger_updated").GetBoolean() && order.GetProperty("wallet_updated").GetBoolean(), TimeSpan.FromSeconds(20), $"{orderId} to settle");
        Assert.Equal("SUCCESS", order.Str("status"));
        Assert.Equal("pi_late_answer", order.Str("psp_reference"));
        Assert.Null(await _operator.DeadLetterAsync(orderId));
        Assert.Equal("6.00", (await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet")).GetProperty("balances")[0].Str("pending"));
    }

    [Fact]
    public async Task Effects_that_keep_failing_are_parked_too_and_a_replay_books_them_once()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        await using (await InjectedFailures.RejectLedgerBookingsAsync(fixture.Server.Server.DatabaseConnectionString, orderId))
        {
            using var response = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, seller, "8.00", "USD")), Ids.New("key"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var deadLetter = await Eventually.MatchesAsync(() => _operator.DeadLetterAsync(orderId), row => row is not null, TimeSpan.FromSeconds(30), $"{orderId} effects to be parked");
            Assert.Equal("effects", deadLetter!.Value.Str("stage"));
            Assert.Contains("injected ledger failure", deadLetter.Value.Str("last_error"), StringComparison.Ordinal);
            var parked = await _merchant.GetJsonAsync($"/v1/payments/{orderId}");
            Assert.Equal("SUCCESS", parked.Str("status"));
            Assert.True(parked.GetProperty("wallet_updated").GetBoolean());
            Assert.False(parked.GetProperty("ledger_updated").GetBoolean());
        }

        using var replay = await _operator.PostJsonAsync($"/v1/ops/dead-letters/{orderId}/replay", new { }, Ids.New("key"));
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
            order => order.GetProperty("ledger_updated").GetBoolean(), TimeSpan.FromSeconds(30), $"{orderId} ledger to be booked after replay");
        Assert.True(order.GetProperty("wallet_updated").GetBoolean());
        Assert.Equal(1, order.GetProperty("attempts").GetInt32());
        var transactions = await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}");
        Assert.Equal(1, transactions.GetProperty("transactions").GetArrayLength());
        var wallet = await _merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet");
        Assert.Equal("8.00", wallet.GetProperty("balances")[0].Str("pending"));
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Fact]
    public async Task Stuck_payments_lists_unfinished_orders_older_than_asked_and_the_monitor_counts_them()
    {
        var orderId = Ids.New("po");
        await SetFaultsAsync(new { error_rate = 1.0, seed = 2 });
        try
        {
            using var response = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, Ids.New("seller"), "1.00", "USD")), Ids.New("key"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

            var stuck = await _operator.GetJsonAsync("/v1/ops/stuck-payments?older_than=PT0S");
            var recent = await _operator.GetJsonAsync("/v1/ops/stuck-payments?older_than=PT1H");
            var invalid = await _operator.GetJsonAsync("/v1/ops/stuck-payments?older_than=soon", HttpStatusCode.BadRequest);
            var overflowing = await _operator.GetJsonAsync("/v1/ops/stuck-payments?older_than=P99999999D", HttpStatusCode.BadRequest);
            var tooLong = await _operator.GetJsonAsync("/v1/ops/stuck-payments?older_than=P3000000D", HttpStatusCode.BadRequest);
            var monitor = (StuckPaymentsMonitor)fixture.Server.Server.Services.GetService(typeof(StuckPaymentsMonitor))!;
            await monitor.CheckAsync(CancellationToken.None);

            Assert.Contains(stuck.GetProperty("payments").EnumerateArray(), order => order.Str("payment_order_id") == orderId);
            Assert.DoesNotContain(recent.GetProperty("payments").EnumerateArray(), order => order.Str("payment_order_id") == orderId);
            Assert.Equal("validation_failed", invalid.Str("code"));
            Assert.Equal("validation_failed", overflowing.Str("code"));
            Assert.Equal("validation_failed", tooLong.Str("code"));
            Assert.True(monitor.LastStuckCount >= 1);
        }
        finally
        {
            await SetFaultsAsync(new { });
        }
    }

    [Fact]
    public async Task Chaos_with_errors_and_lost_responses_still_charges_each_order_exactly_once()
    {
        const int checkouts = 100;
        await SetFaultsAsync(new { error_rate = 0.2, timeout_after_charge_rate = 0.1, seed = 42 });
        var orders = new List<(string OrderId, string Token)>();
        try
        {
            using var gate = new SemaphoreSlim(16);
            var posts = Enumerable.Range(0, checkouts).Select(async i =>
            {
                // Two orders a checkout, every fifth one declined: 200 orders, some of which must never be charged.
                var token = i % 5 == 0 ? "pm_card_chargeDeclined" : "pm_card_visa";
                var lines = new[] { (Ids.New("po"), $"seller_chaos_{i % 7}", "10.00", "USD"), (Ids.New("po"), $"seller_chaos_{i % 3}", "250", "JPY") };
                lock (orders)
                {
                    orders.AddRange(lines.Select(line => (line.Item1, token)));
                }

                await gate.WaitAsync();
                try
                {
                    using var response = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), token, lines), Ids.New("key"));
                    Assert.Contains(response.StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.Accepted });
                }
                finally
                {
                    gate.Release();
                }
            });
            await Task.WhenAll(posts);

            foreach (var (orderId, token) in orders)
            {
                var order = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
                    order => order.Str("status") == "FAILED" || order.GetProperty("ledger_updated").GetBoolean() && order.GetProperty("wallet_updated").GetBoolean(),
                    TimeSpan.FromSeconds(60), $"{orderId} to finish");
                var intents = await _psp.PaymentIntentsForAsync(orderId);
                Assert.True(intents.Length <= 1, $"{orderId} has {intents.Length} payment intents");
                if (token == "pm_card_visa")
                {
                    Assert.Equal("SUCCESS", order.Str("status"));
                    Assert.Equal("succeeded", Assert.Single(intents).Str("status"));
                }
                else
                {
                    Assert.Equal("FAILED", order.Str("status"));
                    Assert.DoesNotContain(intents, intent => intent.Str("status") == "succeeded");
                }
            }
        }
        finally
        {
            await SetFaultsAsync(new { });
        }

        var invariants = await _operator.GetJsonAsync("/v1/ops/invariants");
        Assert.True(invariants.GetProperty("ok").GetBoolean(), invariants.ToString());
    }

    private async Task SetFaultsAsync(object faults)
    {
        using var response = await _psp.PostAsJsonAsync("/_sim/faults", faults);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
}

/// <summary>
/// A retry later than the PSP keeps idempotency keys (Stripe: 24 h) must not charge again: the order looks for its
/// earlier charge first. Here the window is zero and the simulator forgets its keys on demand.
/// </summary>
public sealed class ForgottenIdempotencyKeyTests
{
    [Fact]
    public async Task A_retry_after_the_psp_forgot_the_key_finds_the_earlier_charge_instead_of_charging_again()
    {
        var dataDirectory = TestServer.NewDataDirectory();
        try
        {
            await using var server = await TestServer.StartAsync(dataDirectory, new Dictionary<string, string?> { ["PaymentOrders:PspIdempotencyWindow"] = "00:00:00" });
            var merchant = server.CreateClient();
            using var psp = server.CreatePspClient();
            var orderId = Ids.New("po");
            // Every fresh charge loses its answer, no webhook tells it, and the PSP remembers no key: a blind retry
            // would charge again, and again.
            (await psp.PostAsJsonAsync("/_sim/faults", new { timeout_after_charge_rate = 1.0, forget_idempotency_keys = true, webhook_drop_rate = 1.0, seed = 1 })).EnsureSuccessStatusCode();
            try
            {
                using var created = await merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, Ids.New("seller"), "2.50", "USD")), Ids.New("key"));
                await Eventually.MatchesAsync(() => merchant.GetJsonAsync($"/v1/payments/{orderId}"),
                    order => order.Str("status") == "SUCCESS", TimeSpan.FromSeconds(20), $"{orderId} to succeed");
            }
            finally
            {
                (await psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
            }

            var order = await merchant.GetJsonAsync($"/v1/payments/{orderId}");
            Assert.Equal(2, order.GetProperty("attempts").GetInt32());
            var intent = Assert.Single(await psp.PaymentIntentsForAsync(orderId));
            Assert.Equal(intent.Str("id"), order.Str("psp_reference"));

            // The same for a refund: its lost answer is looked for among the charge's refunds, not asked for again.
            (await psp.PostAsJsonAsync("/_sim/faults", new { timeout_after_charge_rate = 1.0, forget_idempotency_keys = true, webhook_drop_rate = 1.0, seed = 2 })).EnsureSuccessStatusCode();
            try
            {
                using var refund = await merchant.PostJsonAsync($"/v1/payments/{orderId}/refunds", new { amount = "1.00" }, Ids.New("key"));
                Assert.Equal(HttpStatusCode.Created, refund.StatusCode);
                await Eventually.MatchesAsync(() => merchant.GetJsonAsync($"/v1/payments/{orderId}"),
                    order => order.Str("refunded_amount") == "1.00", TimeSpan.FromSeconds(20), $"{orderId} to be refunded");
            }
            finally
            {
                (await psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
            }

            Assert.Equal(100, Assert.Single(await psp.PaymentIntentsForAsync(orderId)).GetProperty("amount_refunded").GetInt64());
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
