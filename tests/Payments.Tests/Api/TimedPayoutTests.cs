using System.Net;
using System.Net.Http.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>
/// A server whose clocks run fast: orders fulfill themselves after 3 s, a payout in transit (or paid, watched for a return)
/// asks the PSP every 2 s, and the PSP's key window is zero, so that what takes days in production plays out within a test.
/// </summary>
public sealed class TimedServerFixture : DedicatedServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Fulfillment:AutoAfter"] = "00:00:03",
        ["Server:ReminderPeriodMin"] = "00:00:01",
        ["PaymentOrders:ReminderPeriod"] = "00:00:02",
        ["PaymentOrders:PspPollAfter"] = "00:00:02",
        ["PaymentOrders:PspIdempotencyWindow"] = "00:00:00",
        ["Payouts:PspPollAfter"] = "00:00:02",
    };
}

[CollectionDefinition(Name)]
public sealed class TimedServerCollection : ICollectionFixture<TimedServerFixture>
{
    public const string Name = "timed server";
}

[Collection(TimedServerCollection.Name)]
public sealed class TimedPayoutTests(TimedServerFixture fixture)
{
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);

    [Fact]
    public async Task A_paid_order_nobody_fulfills_is_fulfilled_automatically_once()
    {
        var seller = Ids.New("seller");
        var orderId = await _merchant.PayAsync(seller, "33.00");

        await Eventually.MatchesAsync(() => _merchant.WalletAsync(seller), balances => balances == ("0.00", "33.00", "0.00", "0.00"), TimeSpan.FromSeconds(30), $"{seller}'s money to become available");
        var order = await _merchant.GetJsonAsync($"/v1/payments/{orderId}");
        Assert.Equal(System.Text.Json.JsonValueKind.String, order.GetProperty("fulfilled_at").ValueKind);
        var kinds = await Eventually.MatchesAsync(async () => (await _operator.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}"))
            .GetProperty("transactions").EnumerateArray().Select(transaction => transaction.Str("kind")).ToArray(), kinds => kinds.Length == 2, TimeSpan.FromSeconds(10), $"{orderId} booked twice");
        Assert.Equal(["payin", "fulfillment"], kinds);

        // The merchant's own fulfillment afterwards moves nothing.
        await _merchant.FulfillAsync(orderId);
        Assert.Equal(("0.00", "33.00", "0.00", "0.00"), await _merchant.WalletAsync(seller));
        await _operator.AssertInvariantsAsync();
    }

    [Fact]
    public async Task A_payout_whose_webhooks_are_lost_is_finished_by_asking_the_psp()
    {
        var seller = await FulfilledSellerAsync("14.00");
        var payoutId = Ids.New("pay");
        using var psp = fixture.Server.CreatePspClient();
        (await psp.PostAsJsonAsync("/_sim/faults", new { webhook_drop_rate = 1.0, seed = 3 })).EnsureSuccessStatusCode();
        try
        {
            using var created = await _merchant.PostJsonAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD" }, Ids.New("key"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payouts/{payoutId}"), payout => payout.Str("status") == "PAID", TimeSpan.FromSeconds(30), $"{payoutId} to be PAID by a lookup");
        }
        finally
        {
            (await psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
        }

        await Eventually.MatchesAsync(() => _merchant.WalletAsync(seller), balances => balances == ("0.00", "0.00", "0.00", "14.00"), TimeSpan.FromSeconds(10), $"{seller} paid out");
        var events = await psp.GetFromJsonAsync<System.Text.Json.JsonElement>("/_sim/events");
        Assert.Contains(events.EnumerateArray(), e => e.Str("type") == "payout.paid" && e.Str("body").Contains(payoutId, StringComparison.Ordinal) && e.GetProperty("dropped").GetBoolean());
        await _operator.AssertInvariantsAsync();
    }

    [Fact]
    public async Task A_payout_the_bank_returns_after_it_was_paid_gives_the_money_back_though_no_webhook_says_so()
    {
        var seller = await FulfilledSellerAsync("6.00");
        var payoutId = Ids.New("pay");
        using var psp = fixture.Server.CreatePspClient();
        (await psp.PostAsJsonAsync("/_sim/faults", new { webhook_drop_rate = 1.0, seed = 6 })).EnsureSuccessStatusCode();
        try
        {
            using (var settings = await _merchant.PutJsonAsync($"/v1/sellers/{seller}/payout_settings", new { destination = "ba_sim_fails_after_paid" }))
            {
                Assert.Equal(HttpStatusCode.OK, settings.StatusCode);
            }

            using var created = await _merchant.PostJsonAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD" }, Ids.New("key"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var returned = await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payouts/{payoutId}"), payout => payout.Str("status") == "FAILED",
                TimeSpan.FromSeconds(40), $"{payoutId} to be found returned by a lookup");
            Assert.Equal(["PENDING", "IN_TRANSIT", "PAID", "FAILED"], returned.GetProperty("history").EnumerateArray().Select(entry => entry.Str("status")));
        }
        finally
        {
            (await psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
        }

        await Eventually.MatchesAsync(() => _merchant.WalletAsync(seller), balances => balances == ("0.00", "6.00", "0.00", "0.00"), TimeSpan.FromSeconds(10), $"{seller}'s money back");
        var kinds = await Eventually.MatchesAsync(async () => (await _operator.GetJsonAsync($"/v1/ledger/transactions?payout_id={payoutId}"))
            .GetProperty("transactions").EnumerateArray().Select(transaction => transaction.Str("kind")).ToArray(), kinds => kinds.Length == 3, TimeSpan.FromSeconds(10), $"{payoutId} booked three times");
        Assert.Equal(["payout", "payout_paid", "payout_returned"], kinds);
        await _operator.AssertInvariantsAsync();
    }

    [Fact]
    public async Task A_payout_retried_after_the_psp_forgot_its_key_finds_the_earlier_payout_instead_of_paying_again()
    {
        var seller = await FulfilledSellerAsync("9.00");
        var payoutId = Ids.New("pay");
        using var psp = fixture.Server.CreatePspClient();
        // Every fresh payout loses its answer and the PSP remembers no key: a blind retry would pay again, and again.
        (await psp.PostAsJsonAsync("/_sim/faults", new { timeout_after_charge_rate = 1.0, forget_idempotency_keys = true, seed = 4 })).EnsureSuccessStatusCode();
        try
        {
            using var created = await _merchant.PostJsonAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD" }, Ids.New("key"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payouts/{payoutId}"), payout => payout.Str("status") == "PAID", TimeSpan.FromSeconds(30), $"{payoutId} to be PAID");
        }
        finally
        {
            (await psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();
        }

        var payout = await _merchant.GetJsonAsync($"/v1/payouts/{payoutId}");
        Assert.Equal(2, payout.GetProperty("attempts").GetInt32());
        Assert.Equal(Assert.Single(await psp.PspPayoutsForAsync(payoutId)).Str("id"), payout.Str("psp_reference"));
        await Eventually.MatchesAsync(() => _merchant.WalletAsync(seller), balances => balances == ("0.00", "0.00", "0.00", "9.00"), TimeSpan.FromSeconds(10), $"{seller} paid out");
        await _operator.AssertInvariantsAsync();
    }

    private async Task<string> FulfilledSellerAsync(string amount) => await _merchant.SellerWithAvailableAsync(amount);
}

public sealed class PayoutScheduleReminderTests
{
    [Fact]
    public async Task A_daily_seller_is_paid_by_its_schedule_reminder_at_the_schedule_time()
    {
        // The schedule time of day is less than a minute from now, so that the reminder's first tick comes within the test, and
        // late enough for the server to start and the seller to be set up first on a loaded machine (15 s was not, in CI).
        var runsAt = DateTimeOffset.UtcNow.AddSeconds(45);
        var dataDirectory = TestServer.NewDataDirectory();
        try
        {
            await using var server = await TestServer.StartAsync(dataDirectory, new Dictionary<string, string?>
            {
                ["Payouts:ScheduleTimeOfDay"] = runsAt.UtcDateTime.TimeOfDay.ToString(@"hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture),
            });
            var merchant = server.CreateClient();
            var seller = await merchant.SellerWithAvailableAsync("18.00", interval: "daily");
            Assert.True(DateTimeOffset.UtcNow < runsAt - TimeSpan.FromSeconds(2), $"the setup ended at {DateTimeOffset.UtcNow:O}, after the schedule time {runsAt:O}: the test cannot see the tick");
            var payoutId = $"sched_{seller}_USD_{DateOnly.FromDateTime(runsAt.UtcDateTime):yyyy-MM-dd}";

            var payout = await Eventually.MatchesAsync(async () =>
            {
                using var response = await merchant.GetAsync($"/v1/payouts/{payoutId}");
                return response.StatusCode == HttpStatusCode.OK ? await response.JsonAsync() : (System.Text.Json.JsonElement?)null;
            }, payout => payout?.Str("status") == "PAID", TimeSpan.FromSeconds(90), $"{payoutId} to be made by the schedule and PAID");

            Assert.Equal("18.00", payout!.Value.Str("amount"));
            using var psp = server.CreatePspClient();
            Assert.Single(await psp.PspPayoutsForAsync(payoutId));
            await Eventually.MatchesAsync(() => merchant.WalletAsync(seller), balances => balances == ("0.00", "0.00", "0.00", "18.00"), TimeSpan.FromSeconds(10), $"{seller} paid out");
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
