using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Cluster;

/// <summary>One checkout of a load run: every answer it got (a 503 or 409 is followed by the same request again), and when.</summary>
internal sealed record LoadedCheckout(string CheckoutId, string OrderId, IReadOnlyList<int> Answers, string? Status, string? PspReference, TimeSpan Start, TimeSpan End)
{
    public TimeSpan Latency => End - Start;

    public int FinalAnswer => Answers.Count == 0 ? 0 : Answers[^1];
}

/// <summary>
/// Checkouts through the gateway from a few workers, each sending the next as soon as the last was answered, until told to
/// stop; the way a client would, a 503 or 409 with Retry-After is sent again (same key) after that long.
/// </summary>
internal sealed class MultiProcessLoad
{
    private const int RetriesAfterMax = 10;
    private readonly List<LoadedCheckout> _done = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _runId = Ids.New("run");
    private int _next = -1;

    public TimeSpan Elapsed => _clock.Elapsed;

    public IReadOnlyList<LoadedCheckout> Done
    {
        get
        {
            lock (_done)
            {
                return [.. _done];
            }
        }
    }

    /// <summary>Runs <paramref name="workers"/> workers until <paramref name="stop"/> is cancelled, then lets each finish its checkout.</summary>
    public Task RunAsync(HttpClient merchant, int workers, int sellers, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var done = await CheckoutAsync(merchant, Interlocked.Increment(ref _next), sellers);
                lock (_done)
                {
                    _done.Add(done);
                }
            }
        })));

    private async Task<LoadedCheckout> CheckoutAsync(HttpClient merchant, int index, int sellers)
    {
        var (checkoutId, orderId, key) = ($"chk_{_runId}_{index}", $"po_{_runId}_{index}", $"key_{_runId}_{index}");
        var body = ApiCalls.Checkout(checkoutId, "pm_card_visa", (orderId, $"seller_mp_{index % sellers}", "5.00", "USD"));
        var start = _clock.Elapsed;
        var answers = new List<int>();
        while (true)
        {
            HttpResponseMessage response;
            try
            {
                response = await merchant.PostJsonAsync("/v1/payments", body, key);
            }
            catch (HttpRequestException)
            {
                // No answer at all (the gateway itself is not killed here, so this is a failure the test reports as 0).
                answers.Add(0);
                return new LoadedCheckout(checkoutId, orderId, answers, null, null, start, _clock.Elapsed);
            }

            using (response)
            {
                answers.Add((int)response.StatusCode);
                if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.Conflict
                    && response.Headers.RetryAfter?.Delta is { } wait && answers.Count <= RetriesAfterMax)
                {
                    await Task.Delay(wait);
                    continue;
                }

                var json = await response.JsonAsync();
                var order = json.TryGetProperty("orders", out var orders) && orders.GetArrayLength() == 1 ? orders[0] : (JsonElement?)null;
                return new LoadedCheckout(checkoutId, orderId, answers,
                    json.TryGetProperty("status", out var status) ? status.GetString() : null,
                    order is { } o && o.TryGetProperty("psp_reference", out var reference) ? reference.GetString() : null,
                    start, _clock.Elapsed);
            }
        }
    }
}
