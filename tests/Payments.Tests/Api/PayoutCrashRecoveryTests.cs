using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Payments.Database;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>A scheduled payout run cut off by SIGKILL, the server started again on the same data, and the run repeated.</summary>
public sealed class PayoutCrashRecoveryTests
{
    private const int Sellers = 12;
    private const string Date = "2026-11-23";

    [Fact]
    public async Task A_scheduled_run_killed_mid_way_and_repeated_pays_each_seller_once()
    {
        var dataDirectory = TestServer.NewDataDirectory();
        var apiAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var pspAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var (siloPort, gatewayPort) = (FreePort.Next(), FreePort.Next());
        var sellers = new List<string>();
        try
        {
            await using (var first = await ServerProcess.StartAsync(dataDirectory, apiAddress, pspAddress, siloPort, gatewayPort, "first.log"))
            {
                using var merchant = Client(apiAddress, "sk_test_demo_merchant");
                for (var i = 0; i < Sellers; i++)
                {
                    sellers.Add(await merchant.SellerWithAvailableAsync("5.00", interval: "daily"));
                }

                using var psp = new HttpClient { BaseAddress = pspAddress };
                // A slow PSP keeps the run's payouts in flight when the process dies.
                (await psp.PostAsJsonAsync("/_sim/faults", new { latency_ms = 300, seed = 5 })).EnsureSuccessStatusCode();
                using var operatorClient = Client(apiAddress, "sk_test_demo_operator");
                var run = RunIgnoringTheKillAsync(operatorClient);
                await Eventually.MatchesAsync(() => ScheduledPayoutsAtPspAsync(psp), payouts => payouts.Length >= 2, TimeSpan.FromSeconds(30), "a few payouts of the run to reach the PSP");
                first.KillHard();
                await run;
            }

            await using var second = await ServerProcess.StartAsync(dataDirectory, apiAddress, pspAddress, siloPort, gatewayPort, "second.log");
            using var again = Client(apiAddress, "sk_test_demo_operator");
            using var pspAfter = new HttpClient { BaseAddress = pspAddress };
            var firstRepeat = await RunAsync(again);
            var secondRepeat = await RunAsync(again);

            var expected = sellers.Select(seller => $"sched_{seller}_USD_{Date}").Order().ToArray();
            Assert.Equal(expected, firstRepeat.Order());
            Assert.Equal(expected, secondRepeat.Order());
            using var reader = Client(apiAddress, "sk_test_demo_merchant");
            foreach (var seller in sellers)
            {
                var payoutId = $"sched_{seller}_USD_{Date}";
                var payout = await Eventually.MatchesAsync(() => reader.GetJsonAsync($"/v1/payouts/{payoutId}"), payout => payout.Str("status") == "PAID",
                    TimeSpan.FromSeconds(60), $"{payoutId} to be PAID after the restart");
                Assert.Equal("5.00", payout.Str("amount"));
                Assert.Equal(payout.Str("psp_reference"), Assert.Single(await pspAfter.PspPayoutsForAsync(payoutId)).Str("id"));
                await Eventually.MatchesAsync(() => reader.WalletAsync(seller), balances => balances == ("0.00", "0.00", "0.00", "5.00"), TimeSpan.FromSeconds(30), $"{seller} paid out once");
            }

            Assert.Equal(Sellers, (await ScheduledPayoutsAtPspAsync(pspAfter)).Length);
            await again.AssertInvariantsAsync();
            await second.StopAsync();
        }
        finally
        {
            // Whatever happened above, leave no PostgreSQL behind: reuse the running one (if any) and stop it.
            await using (await LocalPostgres.StartAsync(dataDirectory, durable: false, NullLogger.Instance, CancellationToken.None))
            {
            }

            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static HttpClient Client(Uri address, string apiKey)
    {
        var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        return client;
    }

    private static async Task RunIgnoringTheKillAsync(HttpClient operatorClient)
    {
        try
        {
            using var response = await operatorClient.PostJsonAsync("/v1/ops/payout-runs", new { date = Date }, Ids.New("key"));
        }
        catch (HttpRequestException)
        {
            // Cut off by the kill, as expected: the operator runs it again after the restart.
        }
    }

    private static async Task<string[]> RunAsync(HttpClient operatorClient)
    {
        using var response = await operatorClient.PostJsonAsync("/v1/ops/payout-runs", new { date = Date }, Ids.New("key"));
        var body = await response.JsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body.GetProperty("payouts").EnumerateArray().Select(id => id.GetString()!).ToArray();
    }

    private static async Task<JsonElement[]> ScheduledPayoutsAtPspAsync(HttpClient psp)
    {
        var payouts = await psp.GetFromJsonAsync<JsonElement>("/_sim/payouts");
        return payouts.EnumerateArray()
            .Where(payout => payout.GetProperty("metadata").TryGetProperty("payout_id", out var id) && id.GetString()!.StartsWith("sched_", StringComparison.Ordinal))
            .ToArray();
    }
}
