using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Payments.Database;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>The server process killed with SIGKILL in the middle of payments, then started again on the same data.</summary>
public sealed class CrashRecoveryTests
{
    private const int Checkouts = 40;
    private const int InFlight = 8;

    [Fact]
    public async Task After_sigkill_every_accepted_order_reaches_a_final_state_charged_once()
    {
        var dataDirectory = TestServer.NewDataDirectory();
        var apiAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var pspAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var (siloPort, gatewayPort) = (FreePort.Next(), FreePort.Next());
        var orderIds = Enumerable.Range(0, Checkouts).Select(_ => Ids.New("po")).ToArray();
        var accepted = new List<string>();
        var unanswered = new List<(string OrderId, string Key, object Body)>();
        try
        {
            await using (var first = await ServerProcess.StartAsync(dataDirectory, apiAddress, pspAddress, siloPort, gatewayPort, "first.log"))
            {
                using var psp = new HttpClient { BaseAddress = pspAddress };
                // A slow, flaky PSP keeps orders in flight when the process dies.
                (await psp.PostAsJsonAsync("/_sim/faults", new { latency_ms = 200, error_rate = 0.3, timeout_after_charge_rate = 0.2, seed = 7 })).EnsureSuccessStatusCode();
                using var merchant = new HttpClient { BaseAddress = apiAddress, Timeout = TimeSpan.FromSeconds(30) };
                merchant.DefaultRequestHeaders.Authorization = new("Bearer", "sk_test_demo_merchant");
                // Rolling posts, a few at a time, so that whenever the kill comes some orders are inside the server
                // and some not sent yet (40 at once could all be answered before the first look, as a cold start
                // holds them until the synchronous window ends together).
                var queue = new System.Collections.Concurrent.ConcurrentQueue<string>(orderIds);
                var posts = Enumerable.Range(0, InFlight).Select(async _ =>
                {
                    while (queue.TryDequeue(out var orderId))
                    {
                        var (key, body) = (Ids.New("key"), ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, "seller_crash", "5.00", "USD")));
                        try
                        {
                            using var response = await merchant.PostJsonAsync("/v1/payments", body, key);
                            if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Accepted)
                            {
                                lock (accepted)
                                {
                                    accepted.Add(orderId);
                                }
                            }
                        }
                        catch (HttpRequestException)
                        {
                            // Cut off by the kill (or sent after it): the client does not know whether it was accepted, so it will retry.
                            lock (unanswered)
                            {
                                unanswered.Add((orderId, key, body));
                            }
                        }
                    }
                }).ToArray();

                await Eventually.MatchesAsync(() =>
                {
                    lock (accepted)
                    {
                        return Task.FromResult(accepted.Count);
                    }
                }, count => count >= 3, TimeSpan.FromSeconds(30), "a few checkouts to be accepted");
                first.KillHard();
                await Task.WhenAll(posts);
            }

            await using var second = await ServerProcess.StartAsync(dataDirectory, apiAddress, pspAddress, siloPort, gatewayPort, "second.log");
            using var client = new HttpClient { BaseAddress = apiAddress, Timeout = TimeSpan.FromSeconds(30) };
            client.DefaultRequestHeaders.Authorization = new("Bearer", "sk_test_demo_operator");
            using var pspAfter = new HttpClient { BaseAddress = pspAddress };

            // The client retries what got no answer, with the same key: a key whose request died with the
            // process is not locked forever (the lock times out), and the retry does not charge twice.
            using var retrying = new HttpClient { BaseAddress = apiAddress, Timeout = TimeSpan.FromSeconds(30) };
            retrying.DefaultRequestHeaders.Authorization = new("Bearer", "sk_test_demo_merchant");
            Assert.NotEmpty(unanswered);
            foreach (var (orderId, key, body) in unanswered)
            {
                var status = await Eventually.MatchesAsync(async () =>
                {
                    using var response = await retrying.PostJsonAsync("/v1/payments", body, key);
                    return response.StatusCode;
                }, status => status is HttpStatusCode.Created or HttpStatusCode.Accepted, TimeSpan.FromSeconds(30), $"the retry of {orderId} with key {key} to be accepted");
                accepted.Add(orderId);
            }

            var settled = 0;
            foreach (var orderId in orderIds)
            {
                using var probe = await client.GetAsync($"/v1/payments/{orderId}");
                if (probe.StatusCode == HttpStatusCode.NotFound)
                {
                    Assert.DoesNotContain(orderId, accepted);
                    Assert.Empty(await pspAfter.PaymentIntentsForAsync(orderId));
                    continue;
                }

                var order = await Eventually.MatchesAsync(() => client.GetJsonAsync($"/v1/payments/{orderId}"),
                    order => order.Str("status") == "SUCCESS" && order.GetProperty("wallet_updated").GetBoolean() && order.GetProperty("ledger_updated").GetBoolean(),
                    TimeSpan.FromSeconds(90), $"{orderId} to settle after the restart");
                var intent = Assert.Single(await pspAfter.PaymentIntentsForAsync(orderId));
                Assert.Equal(intent.Str("id"), order.Str("psp_reference"));
                settled++;
            }

            Assert.Equal(Checkouts, accepted.Count);
            Assert.Equal(Checkouts, settled);
            var invariants = await client.GetJsonAsync("/v1/ops/invariants");
            Assert.True(invariants.GetProperty("ok").GetBoolean(), invariants.ToString());
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
}
