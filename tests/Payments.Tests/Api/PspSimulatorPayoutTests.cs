using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;
using Payments.Psp;
using Payments.PspSimulator;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>
/// Payouts at the simulated PSP, through the production adapter (Stripe.net): the test bank accounts' outcomes, their
/// webhooks, idempotency by payout id, lost answers, the search by metadata, and durability across a restart.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class PspSimulatorPayoutTests(ServerFixture fixture) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly HttpClient _psp = fixture.Server.CreatePspClient();
    private readonly StripePspClient _client = Client(fixture.Server.PspAddress);

    public void Dispose() => _psp.Dispose();

    [Fact]
    public async Task A_payout_to_ba_sim_ok_is_in_transit_then_paid_with_a_payout_paid_event()
    {
        var payoutId = Ids.New("pay");

        var created = await _client.CreatePayoutAsync(Request(payoutId, "ba_sim_ok", 6_000), CancellationToken.None);

        Assert.Equal(PspPayoutStatus.InTransit, created.Status);
        Assert.StartsWith("po_", created.PspPayoutId, StringComparison.Ordinal);
        Assert.Null(created.FailureCode);
        Assert.NotNull(created.ArrivalDate);
        Assert.Equal(TimeSpan.Zero, created.ArrivalDate.Value.TimeOfDay);
        var atPsp = Assert.Single(await PayoutsForAsync(payoutId));
        Assert.Equal(created.PspPayoutId, atPsp.Str("id"));
        Assert.Equal(payoutId, atPsp.Str("idempotency_key"));
        Assert.Equal(6_000, atPsp.GetProperty("amount").GetInt64());
        Assert.Equal("usd", atPsp.Str("currency"));
        Assert.Equal("ba_sim_ok", atPsp.Str("destination"));
        Assert.Equal("seller_7", atPsp.GetProperty("metadata").Str("seller_account"));

        var paid = await Eventually.MatchesAsync(
            () => _client.GetPayoutAsync(payoutId, created.PspPayoutId!, CancellationToken.None),
            outcome => outcome.Status == PspPayoutStatus.Paid,
            Patience,
            "the payout to be paid");
        Assert.Equal(created.PspPayoutId, paid.PspPayoutId);
        Assert.Null(paid.FailureCode);
        Assert.Equal(created.ArrivalDate, paid.ArrivalDate);

        var events = await Eventually.MatchesAsync(() => PayoutEventsForAsync(payoutId), found => found.Count == 1, Patience, "the payout.paid event");
        var paidEvent = Assert.Single(events);
        Assert.Equal("payout.paid", paidEvent.Type);
        Assert.Equal(created.PspPayoutId, paidEvent.PspPayoutId);
        Assert.Equal(payoutId, paidEvent.Mapped.PayoutId);
        Assert.Equal("paid", paidEvent.Mapped.PayoutStatus);
        Assert.Null(paidEvent.Mapped.FailureCode);
        Assert.Equal("paid", Assert.Single(await PayoutsForAsync(payoutId)).Str("status"));
    }

    [Fact]
    public async Task A_payout_to_ba_sim_closed_fails_with_account_closed()
    {
        var payoutId = Ids.New("pay");

        var created = await _client.CreatePayoutAsync(Request(payoutId, "ba_sim_closed", 2_500), CancellationToken.None);

        Assert.Equal(PspPayoutStatus.InTransit, created.Status);
        var failed = await Eventually.MatchesAsync(
            () => _client.GetPayoutAsync(payoutId, created.PspPayoutId!, CancellationToken.None),
            outcome => outcome.Status != PspPayoutStatus.InTransit,
            Patience,
            "the payout to end");
        Assert.Equal(PspPayoutStatus.Failed, failed.Status);
        Assert.Equal("account_closed", failed.FailureCode);
        Assert.Equal("The bank account has been closed.", failed.FailureMessage);
        Assert.Equal(created.PspPayoutId, failed.PspPayoutId);

        var events = await Eventually.MatchesAsync(() => PayoutEventsForAsync(payoutId), found => found.Count == 1, Patience, "the payout.failed event");
        var failedEvent = Assert.Single(events);
        Assert.Equal("payout.failed", failedEvent.Type);
        Assert.Equal(payoutId, failedEvent.Mapped.PayoutId);
        Assert.Equal("failed", failedEvent.Mapped.PayoutStatus);
        Assert.Equal("account_closed", failedEvent.Mapped.FailureCode);
        var atPsp = Assert.Single(await PayoutsForAsync(payoutId));
        Assert.Equal("failed", atPsp.Str("status"));
        Assert.Equal("account_closed", atPsp.Str("failure_code"));
    }

    [Fact]
    public async Task A_payout_to_ba_sim_fails_after_paid_is_paid_then_failed()
    {
        var payoutId = Ids.New("pay");

        var created = await _client.CreatePayoutAsync(Request(payoutId, "ba_sim_fails_after_paid", 1_000), CancellationToken.None);
        var paid = await Eventually.MatchesAsync(
            () => _client.GetPayoutAsync(payoutId, created.PspPayoutId!, CancellationToken.None),
            outcome => outcome.Status != PspPayoutStatus.InTransit,
            Patience,
            "the payout to be paid");
        var failed = await Eventually.MatchesAsync(
            () => _client.GetPayoutAsync(payoutId, created.PspPayoutId!, CancellationToken.None),
            outcome => outcome.Status != PspPayoutStatus.Paid,
            Patience,
            "the paid payout to fail");

        Assert.Equal(PspPayoutStatus.InTransit, created.Status);
        Assert.Equal(PspPayoutStatus.Paid, paid.Status);
        Assert.Equal(PspPayoutStatus.Failed, failed.Status);
        Assert.Equal("account_closed", failed.FailureCode);
        var events = await Eventually.MatchesAsync(() => PayoutEventsForAsync(payoutId), found => found.Count == 2, Patience, "payout.paid and payout.failed");
        Assert.Equal(["payout.paid", "payout.failed"], events.Select(e => e.Type));
        Assert.Equal(["paid", "failed"], events.Select(e => e.Mapped.PayoutStatus));
        Assert.Equal([null, "account_closed"], events.Select(e => e.Mapped.FailureCode));
    }

    [Fact]
    public async Task The_same_payout_id_twice_is_one_payout_at_the_psp()
    {
        var payoutId = Ids.New("pay");

        var first = await _client.CreatePayoutAsync(Request(payoutId, "ba_sim_ok", 700), CancellationToken.None);
        var again = await _client.CreatePayoutAsync(Request(payoutId, "ba_sim_ok", 700), CancellationToken.None);

        Assert.Equal(PspPayoutStatus.InTransit, first.Status);
        Assert.Equal(PspPayoutStatus.InTransit, again.Status);
        Assert.Equal(first.PspPayoutId, again.PspPayoutId);
        Assert.Equal(first.PspPayoutId, Assert.Single(await PayoutsForAsync(payoutId)).Str("id"));
    }

    [Fact]
    public async Task A_lost_answer_is_unknown_and_the_retry_gets_the_same_payout()
    {
        var payoutId = Ids.New("pay");
        PspPayoutOutcome lost;
        await SetFaultsAsync("""{ "timeout_after_charge_rate": 1.0 }""");
        try
        {
            lost = await _client.CreatePayoutAsync(Request(payoutId, "ba_sim_ok", 900), CancellationToken.None);
        }
        finally
        {
            await SetFaultsAsync("{}");
        }

        var retried = await _client.CreatePayoutAsync(Request(payoutId, "ba_sim_ok", 900), CancellationToken.None);

        Assert.Equal(PspPayoutStatus.Unknown, lost.Status);
        Assert.Equal("connection_error", lost.FailureCode);
        Assert.Null(lost.PspPayoutId);
        Assert.Equal(PspPayoutStatus.InTransit, retried.Status);
        Assert.Equal(retried.PspPayoutId, Assert.Single(await PayoutsForAsync(payoutId)).Str("id"));
    }

    [Fact]
    public async Task A_payout_is_found_by_its_metadata_when_the_psp_has_forgotten_the_key()
    {
        var payoutId = Ids.New("pay");
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var created = await _client.CreatePayoutAsync(Request(payoutId, "ba_sim_ok", 1_200), CancellationToken.None);
        PspPayoutOutcome? found;
        PspPayoutOutcome? other;
        PspPayoutOutcome? tooLate;
        PspPayoutOutcome? tooEarly;
        var after = DateTimeOffset.UtcNow.AddSeconds(5);
        await SetFaultsAsync("""{ "forget_idempotency_keys": true }""");
        try
        {
            found = await _client.FindPayoutAsync(payoutId, before, after, CancellationToken.None);
            other = await _client.FindPayoutAsync(Ids.New("pay"), before, after, CancellationToken.None);
            tooLate = await _client.FindPayoutAsync(payoutId, DateTimeOffset.UtcNow.AddMinutes(1), DateTimeOffset.UtcNow.AddMinutes(2), CancellationToken.None);
            tooEarly = await _client.FindPayoutAsync(payoutId, before.AddHours(-2), before.AddHours(-1), CancellationToken.None);
        }
        finally
        {
            await SetFaultsAsync("{}");
        }

        Assert.NotNull(found);
        Assert.Equal(created.PspPayoutId, found.PspPayoutId);
        Assert.NotEqual(PspPayoutStatus.Unknown, found.Status);
        Assert.Null(other);
        Assert.Null(tooLate);
        Assert.Null(tooEarly);
        Assert.Single(await PayoutsForAsync(payoutId));
    }

    [Theory]
    [InlineData("ba_no_such_account", 500, "resource_missing")]
    [InlineData("ba_sim_ok", 0, "amount_too_small")]
    public async Task A_refused_payout_is_failed_with_the_psp_code_and_nothing_is_paid(string destination, long amount, string code)
    {
        var payoutId = Ids.New("pay");

        var refused = await _client.CreatePayoutAsync(Request(payoutId, destination, amount), CancellationToken.None);

        Assert.Equal(PspPayoutStatus.Failed, refused.Status);
        Assert.Equal(code, refused.FailureCode);
        Assert.Null(refused.PspPayoutId);
        Assert.Empty(await PayoutsForAsync(payoutId));
    }

    [Fact]
    public async Task A_lookup_of_an_unknown_payout_is_unknown_not_failed()
    {
        var outcome = await _client.GetPayoutAsync(Ids.New("pay"), "po_no_such_payout", CancellationToken.None);

        Assert.Equal(PspPayoutStatus.Unknown, outcome.Status);
        Assert.Equal("resource_missing", outcome.FailureCode);
    }

    [Fact]
    public async Task The_payout_list_pages_newest_first_with_starting_after()
    {
        var since = DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var payoutId = Ids.New("pay");
            ids.Add((await _client.CreatePayoutAsync(Request(payoutId, "ba_sim_ok", 100 + i), CancellationToken.None)).PspPayoutId!);
        }

        // Stripe's API, unlike /_sim, wants an API key (any will do here).
        using var stripe = fixture.Server.CreatePspClient();
        stripe.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_payouts");
        var seen = new List<string>();
        string? cursor = null;
        JsonElement page;
        do
        {
            page = await stripe.GetJsonAsync($"/v1/payouts?limit=2&created[gte]={since}" + (cursor is null ? string.Empty : $"&starting_after={cursor}"));
            var data = page.GetProperty("data").EnumerateArray().ToList();
            Assert.InRange(data.Count, 1, 2);
            Assert.Equal("list", page.Str("object"));
            seen.AddRange(data.Select(payout => payout.Str("id")));
            cursor = data[^1].Str("id");
        }
        while (page.GetProperty("has_more").GetBoolean());

        Assert.Equal(Enumerable.Reverse(ids), seen.Where(ids.Contains));
        var unknownCursor = await stripe.GetJsonAsync("/v1/payouts?starting_after=po_no_such_payout", HttpStatusCode.BadRequest);
        Assert.Equal("resource_missing", unknownCursor.GetProperty("error").Str("code"));
        Assert.Equal("starting_after", unknownCursor.GetProperty("error").Str("param"));
    }

    [Fact]
    public async Task Payouts_survive_a_restart_and_those_overdue_finish_at_once()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "pspsim-payouts-" + Guid.NewGuid().ToString("N"));
        var payoutId = Ids.New("pay");
        try
        {
            PspPayoutOutcome created;
            // A delay no test waits out: the payout can only finish after the restart.
            var firstUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
            await using (var slow = await StartSimulatorAsync(firstUrl, dataDirectory, processingDelayMs: 3_600_000))
            {
                created = await Client(firstUrl).CreatePayoutAsync(Request(payoutId, "ba_sim_ok", 4_200), CancellationToken.None);
                Assert.Equal(PspPayoutStatus.InTransit, created.Status);
            }

            var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
            await using var restarted = await StartSimulatorAsync(url, dataDirectory, processingDelayMs: 1);
            var client = Client(url);
            var paid = await Eventually.MatchesAsync(
                () => client.GetPayoutAsync(payoutId, created.PspPayoutId!, CancellationToken.None),
                outcome => outcome.Status != PspPayoutStatus.InTransit,
                Patience,
                "the overdue payout to be paid");
            var replayed = await client.CreatePayoutAsync(Request(payoutId, "ba_sim_ok", 4_200), CancellationToken.None);

            Assert.Equal(PspPayoutStatus.Paid, paid.Status);
            Assert.Equal(created.PspPayoutId, replayed.PspPayoutId);
            using var psp = new HttpClient { BaseAddress = url };
            var payouts = await psp.GetJsonAsync("/_sim/payouts");
            var payout = Assert.Single(payouts.EnumerateArray().ToList());
            Assert.Equal(created.PspPayoutId, payout.Str("id"));
            Assert.Equal("paid", payout.Str("status"));
        }
        finally
        {
            if (Directory.Exists(dataDirectory))
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
        }
    }

    private static StripePspClient Client(Uri baseUrl)
    {
        var options = new PspOptions { BaseUrl = baseUrl.ToString().TrimEnd('/'), RequestTimeout = TimeSpan.FromSeconds(10) };
        return new StripePspClient(new HttpClient { Timeout = options.RequestTimeout }, Options.Create(options));
    }

    private static PspPayoutRequest Request(string payoutId, string destination, long minor) =>
        new(payoutId, "seller_7", minor, "USD", destination);

    private static async Task<SimulatorHost> StartSimulatorAsync(Uri url, string dataDirectory, int processingDelayMs)
    {
        var app = PspSimulatorApplication.Build(
            [string.Create(CultureInfo.InvariantCulture, $"--processing-delay-ms={processingDelayMs}")],
            url.ToString().TrimEnd('/'),
            dataDirectory);
        await app.StartAsync();
        return new SimulatorHost(app);
    }

    private async Task SetFaultsAsync(string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _psp.PostAsync(new Uri("/_sim/faults", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>What the PSP holds with our payout id in its metadata (<c>GET /_sim/payouts</c>), oldest first.</summary>
    private async Task<List<JsonElement>> PayoutsForAsync(string payoutId)
    {
        var payouts = await _psp.GetFromJsonAsync<JsonElement>(new Uri("/_sim/payouts", UriKind.Relative));
        return payouts.EnumerateArray()
            .Where(payout => payout.GetProperty("metadata").TryGetProperty("payout_id", out var id) && id.GetString() == payoutId)
            .ToList();
    }

    /// <summary>The payout events the simulator sent about our payout, in order, each as our webhook verifier reads it.</summary>
    private async Task<List<PayoutEvent>> PayoutEventsForAsync(string payoutId)
    {
        var verifier = new StripeWebhookVerifier(Options.Create(new PspOptions { WebhookSecrets = [TestServer.WebhookSecret] }), TimeProvider.System);
        var events = await _psp.GetFromJsonAsync<JsonElement>(new Uri("/_sim/events", UriKind.Relative));
        var ours = new List<PayoutEvent>();
        foreach (var sent in events.EnumerateArray().Where(e => e.Str("type").StartsWith("payout.", StringComparison.Ordinal)))
        {
            var body = sent.Str("body");
            var payout = JsonDocument.Parse(body).RootElement.GetProperty("data").GetProperty("object");
            if (payout.GetProperty("metadata").TryGetProperty("payout_id", out var id) && id.GetString() == payoutId)
            {
                var verification = verifier.Verify(body, StripeEvents.Signature(body, TestServer.WebhookSecret, DateTimeOffset.UtcNow));
                Assert.True(verification.IsValid, $"the simulator's event does not verify: {verification.Failure}");
                ours.Add(new PayoutEvent(sent.Str("type"), payout.Str("id"), verification.Event!));
            }
        }

        return ours;
    }

    private sealed record PayoutEvent(string Type, string PspPayoutId, PspEvent Mapped);

    private sealed class SimulatorHost(WebApplication app) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
