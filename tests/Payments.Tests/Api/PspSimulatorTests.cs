using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Payments.PspSimulator;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>The PSP simulator on its own, over HTTP as Stripe.net talks to it: durable state and chaos faults.</summary>
public sealed class PspSimulatorTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "pspsim-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Intents_and_idempotency_records_survive_a_restart()
    {
        var orderId = Ids.New("po");
        var key = Ids.New("key");
        string intentId;
        await using (var first = await Simulator.StartAsync(_dataDirectory))
        {
            using var created = await first.CreateAsync(key, orderId);
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            intentId = (await Json(created))["id"]!.GetValue<string>();
        }

        await using var second = await Simulator.StartAsync(_dataDirectory);
        using var replayed = await second.CreateAsync(key, orderId);
        using var fetched = await second.Client.GetAsync(new Uri($"/v1/payment_intents/{intentId}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, replayed.StatusCode);
        Assert.Equal("true", Assert.Single(replayed.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(intentId, (await Json(replayed))["id"]!.GetValue<string>());
        Assert.Equal("succeeded", (await Json(fetched))["status"]!.GetValue<string>());
        var intent = Assert.Single(await second.IntentsAsync())!;
        Assert.Equal(intentId, intent["id"]!.GetValue<string>());
        Assert.Equal(key, intent["idempotency_key"]!.GetValue<string>());
        Assert.Equal(orderId, intent["metadata"]!["payment_order_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_torn_last_line_is_dropped_and_later_changes_are_still_kept()
    {
        await using (var first = await Simulator.StartAsync(_dataDirectory))
        {
            using var created = await first.CreateAsync(Ids.New("key"), Ids.New("po"));
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }

        // As if the process had been killed in the middle of writing a line.
        await File.AppendAllTextAsync(Path.Combine(_dataDirectory, SimulatorStore.LogFileName), "{\"v\":1,\"intents\":[{\"id\":\"pi_torn");

        await using (var second = await Simulator.StartAsync(_dataDirectory))
        {
            Assert.Single(await second.IntentsAsync());
            using var created = await second.CreateAsync(Ids.New("key"), Ids.New("po"));
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }

        await using var third = await Simulator.StartAsync(_dataDirectory);
        Assert.Equal(2, (await third.IntentsAsync()).Count);
    }

    [Fact]
    public async Task Attempt_counters_of_fault_tokens_survive_a_restart()
    {
        var key = Ids.New("key");
        var orderId = Ids.New("po");
        var statuses = new List<HttpStatusCode>();
        for (var run = 0; run < 3; run++)
        {
            await using var simulator = await Simulator.StartAsync(_dataDirectory);
            using var response = await simulator.CreateAsync(key, orderId, "pm_sim_unavailable_twice");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK], statuses);
    }

    [Fact]
    public async Task Error_rate_one_answers_500_without_charging_and_the_same_key_succeeds_once_faults_are_reset()
    {
        await using var simulator = await Simulator.StartAsync(_dataDirectory);
        var key = Ids.New("key");
        var orderId = Ids.New("po");
        using (var set = await simulator.SetFaultsAsync("""{ "error_rate": 1 }"""))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var failed = await simulator.CreateAsync(key, orderId);
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.Equal("api_error", (await Json(failed))["error"]!["type"]!.GetValue<string>());
        }

        Assert.Empty(await simulator.IntentsAsync());

        using (var reset = await simulator.SetFaultsAsync("{}"))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        }

        using var succeeded = await simulator.CreateAsync(key, orderId);
        Assert.Equal(HttpStatusCode.OK, succeeded.StatusCode);
        Assert.False(succeeded.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("succeeded", (await Json(succeeded))["status"]!.GetValue<string>());
        Assert.Single(await simulator.IntentsAsync());
    }

    [Fact]
    public async Task Timeout_after_charge_loses_the_answer_and_a_retry_with_the_same_key_gets_the_charged_intent()
    {
        await using var simulator = await Simulator.StartAsync(_dataDirectory);
        var key = Ids.New("key");
        var orderId = Ids.New("po");
        using (var set = await simulator.SetFaultsAsync("""{ "timeout_after_charge_rate": 1 }"""))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => simulator.CreateAsync(key, orderId));
        Assert.True(failure is HttpRequestException or IOException, failure.ToString());
        var charged = Assert.Single(await simulator.IntentsAsync())!;
        Assert.Equal("succeeded", charged["status"]!.GetValue<string>());

        using (var reset = await simulator.SetFaultsAsync("{}"))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        }

        using var retried = await simulator.CreateAsync(key, orderId);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal("true", Assert.Single(retried.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(charged["id"]!.GetValue<string>(), (await Json(retried))["id"]!.GetValue<string>());
        Assert.Single(await simulator.IntentsAsync());
    }

    [Fact]
    public async Task Timeout_once_token_fails_at_once_and_the_retry_gets_the_original_result()
    {
        await using var simulator = await Simulator.StartAsync(_dataDirectory);
        var key = Ids.New("key");
        var orderId = Ids.New("po");

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => simulator.CreateAsync(key, orderId, "pm_sim_timeout_once"));
        using var retried = await simulator.CreateAsync(key, orderId, "pm_sim_timeout_once");

        Assert.True(failure is HttpRequestException or IOException, failure.ToString());
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal("true", Assert.Single(retried.Headers.GetValues("Idempotent-Replayed")));
        var intent = Assert.Single(await simulator.IntentsAsync())!;
        Assert.Equal(intent["id"]!.GetValue<string>(), (await Json(retried))["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_faults_for_the_same_requests()
    {
        await using var simulator = await Simulator.StartAsync(dataDirectory: null);
        const string profile = """{ "error_rate": 0.5, "seed": 42 }""";

        async Task<string> RunAsync()
        {
            using var set = await simulator.SetFaultsAsync(profile);
            var outcomes = new StringBuilder();
            for (var request = 0; request < 20; request++)
            {
                using var response = await simulator.CreateAsync(Ids.New("key"), Ids.New("po"));
                outcomes.Append(response.StatusCode == HttpStatusCode.OK ? 'o' : 'x');
            }

            return outcomes.ToString();
        }

        var first = await RunAsync();
        var second = await RunAsync();

        Assert.Equal(first, second);
        Assert.Contains("o", first, StringComparison.Ordinal);
        Assert.Contains("x", first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Faults_are_none_at_start_and_read_back_as_set()
    {
        await using var simulator = await Simulator.StartAsync(dataDirectory: null);

        var initial = await simulator.GetFaultsAsync();
        using var set = await simulator.SetFaultsAsync("""{ "latency_ms": 1, "error_rate": 0.25, "webhook_reorder": true, "seed": 7 }""");
        var current = await simulator.GetFaultsAsync();

        Assert.Equal(0, initial["latency_ms"]!.GetValue<int>());
        Assert.Equal(0, initial["error_rate"]!.GetValue<double>());
        Assert.False(initial["webhook_reorder"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(1, current["latency_ms"]!.GetValue<int>());
        Assert.Equal(0.25, current["error_rate"]!.GetValue<double>());
        Assert.Equal(0, current["timeout_after_charge_rate"]!.GetValue<double>());
        Assert.Equal(0, current["webhook_duplicate_rate"]!.GetValue<double>());
        Assert.Equal(0, current["webhook_drop_rate"]!.GetValue<double>());
        Assert.True(current["webhook_reorder"]!.GetValue<bool>());
        Assert.Equal(7, current["seed"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("""{ "error_rate": 2 }""", "error_rate")]
    [InlineData("""{ "timeout_after_charge_rate": -0.1 }""", "timeout_after_charge_rate")]
    [InlineData("""{ "webhook_duplicate_rate": "0.5" }""", "webhook_duplicate_rate")]
    [InlineData("""{ "webhook_drop_rate": 1.5 }""", "webhook_drop_rate")]
    [InlineData("""{ "latency_ms": -1 }""", "latency_ms")]
    [InlineData("""{ "latency_ms": 1.5 }""", "latency_ms")]
    [InlineData("""{ "webhook_reorder": 1 }""", "webhook_reorder")]
    [InlineData("""{ "seed": 1e20 }""", "seed")]
    [InlineData("""{ "error_rte": 0.5 }""", "error_rte")]
    [InlineData("""[1]""", null)]
    [InlineData("""{ "error_rate": """, null)]
    public async Task Invalid_faults_are_refused_and_leave_the_profile_as_it_was(string body, string? field)
    {
        await using var simulator = await Simulator.StartAsync(dataDirectory: null);
        using (var set = await simulator.SetFaultsAsync("""{ "error_rate": 0.5 }"""))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using var refused = await simulator.SetFaultsAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = (await Json(refused))["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(field, error["param"]?.GetValue<string>());
        Assert.Equal(0.5, (await simulator.GetFaultsAsync())["error_rate"]!.GetValue<double>());
    }

    private static async Task<JsonNode> Json(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    /// <summary>A simulator on a free loopback port, and a plain HttpClient talking to it like Stripe.net.</summary>
    private sealed class Simulator : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Simulator(WebApplication app, Uri address)
        {
            _app = app;
            Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
            Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_x");
        }

        public HttpClient Client { get; }

        public static async Task<Simulator> StartAsync(string? dataDirectory)
        {
            var url = $"http://127.0.0.1:{FreePort.Next()}";
            var app = PspSimulatorApplication.Build([], url, dataDirectory);
            await app.StartAsync();
            return new Simulator(app, new Uri(url));
        }

        public Task<HttpResponseMessage> CreateAsync(string idempotencyKey, string orderId, string paymentMethod = "pm_card_visa")
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payment_intents")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["amount"] = "100",
                    ["currency"] = "usd",
                    ["payment_method"] = paymentMethod,
                    ["confirm"] = "true",
                    ["metadata[payment_order_id]"] = orderId,
                }),
            };
            request.Headers.Add("Idempotency-Key", idempotencyKey);
            return SendAsync(request);
        }

        public Task<HttpResponseMessage> SetFaultsAsync(string json) =>
            SendAsync(new HttpRequestMessage(HttpMethod.Post, "/_sim/faults") { Content = new StringContent(json, Encoding.UTF8, "application/json") });

        public async Task<JsonNode> GetFaultsAsync() =>
            JsonNode.Parse(await Client.GetStringAsync(new Uri("/_sim/faults", UriKind.Relative)))!;

        public async Task<JsonArray> IntentsAsync() =>
            JsonNode.Parse(await Client.GetStringAsync(new Uri("/_sim/payment_intents", UriKind.Relative)))!.AsArray();

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
        {
            using (request)
            {
                return await Client.SendAsync(request);
            }
        }
    }
}
