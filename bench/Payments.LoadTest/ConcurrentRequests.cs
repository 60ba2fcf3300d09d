using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Payments.LoadTest;

/// <summary>
/// Judges one answer of a batch: returns why it failed, or null when it is what the phase expects.
/// <paramref name="status"/> is never 0 here: requests that got no answer fail without being judged.
/// </summary>
internal delegate string? ResponseCheck(int index, int status, byte[] body);

/// <summary>
/// Sends a fixed number of requests from a fixed number of workers and measures each one: every phase of
/// the bench (checkouts, fulfillments, payouts, polls) is such a batch, so each is measured the same way.
/// </summary>
internal static class ConcurrentRequests
{
    private const int ErrorSamplesMax = 5;

    /// <summary>How often one request is sent again after a 503 or 409 with Retry-After, as a well-behaved client would.</summary>
    private const int RetriesAfterMax = 10;

    /// <summary>The longest Retry-After honoured: a bench run must end, whatever the server asks.</summary>
    private static readonly TimeSpan RetryAfterMax = TimeSpan.FromSeconds(10);

    /// <remarks>
    /// An answer of 503 (the cluster is briefly unavailable) or 409 (the Idempotency-Key is still in use) with Retry-After is
    /// counted, then the same request (same key) is sent again after that long; the last answer is the one judged.
    /// <paramref name="done"/>, when given, is told each request's index once it is judged (from the worker that sent it):
    /// progress for whoever needs it (the pay-in bench's RSS readings) without keeping anything per request here.
    /// </remarks>
    public static async Task<RequestBatch> RunAsync(
        HttpClient http, int count, int concurrency, Func<int, HttpRequestMessage> createRequest, ResponseCheck check,
        Action<int>? done = null)
    {
        // Preallocated per-request slots: each index is written by exactly one worker, so no locking,
        // and memory stays flat however long the run.
        var latencyMs = new double[count];
        var startMs = new double[count];
        var answers = new int[600];
        var failed = 0;
        var retried = 0;
        var errorSamples = new ConcurrentQueue<string>();
        var next = -1;
        var clock = Stopwatch.StartNew();

        async Task WorkerAsync()
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count)
                {
                    return;
                }

                var start = Stopwatch.GetTimestamp();
                startMs[i] = clock.Elapsed.TotalMilliseconds;
                string? failure;
                var retries = 0;
                while (true)
                {
                    using var request = createRequest(i);
                    try
                    {
                        using var response = await http.SendAsync(request);
                        var body = await response.Content.ReadAsByteArrayAsync();
                        var status = (int)response.StatusCode;
                        Interlocked.Increment(ref answers[Math.Clamp(status, 1, answers.Length - 1)]);
                        if (status is 503 or 409 && response.Headers.RetryAfter?.Delta is { } wait && retries < RetriesAfterMax)
                        {
                            retries++;
                            Interlocked.Increment(ref retried);
                            await Task.Delay(wait < RetryAfterMax ? wait : RetryAfterMax);
                            continue;
                        }

                        failure = check(i, status, body);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        // Status 0 stands for "no HTTP answer" (connection refused, timeout).
                        Interlocked.Increment(ref answers[0]);
                        failure = $"0: {ex.GetType().Name}: {ex.Message}";
                    }

                    break;
                }

                latencyMs[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (failure is not null)
                {
                    Interlocked.Increment(ref failed);
                    if (errorSamples.Count < ErrorSamplesMax)
                    {
                        errorSamples.Enqueue(failure);
                    }
                }

                done?.Invoke(i);
            }
        }

        var workers = new Task[Math.Min(concurrency, count)];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(WorkerAsync);
        }

        await Task.WhenAll(workers);
        clock.Stop();

        var statusCounts = new SortedDictionary<int, int>();
        for (var status = 0; status < answers.Length; status++)
        {
            if (answers[status] > 0)
            {
                statusCounts[status] = answers[status];
            }
        }

        var timeline = new RequestTimeline(startMs, (double[])latencyMs.Clone());
        Array.Sort(latencyMs);
        return new RequestBatch(count, clock.Elapsed, latencyMs, statusCounts, failed, [.. errorSamples], retried, timeline);
    }

    /// <summary>A request with a JSON body; <paramref name="idempotencyKey"/> is required on every POST of the API.</summary>
    public static HttpRequestMessage Json(HttpMethod method, string path, byte[] body, string? idempotencyKey)
    {
        var request = new HttpRequestMessage(method, path)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return request;
    }

    /// <summary>The failure text of an unexpected answer: its status and the start of its body.</summary>
    public static string Unexpected(int status, byte[] body) => $"{status}: {Truncate(Encoding.UTF8.GetString(body))}";

    public static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";
}

/// <summary>
/// What one batch measured. <see cref="LatencyMs"/> is sorted ascending. <see cref="StatusCounts"/> counts every answer,
/// those retried after Retry-After (<see cref="RetriedAfter"/>) too; a request's latency runs to its last answer.
/// </summary>
internal sealed record RequestBatch(
    int Count,
    TimeSpan Elapsed,
    double[] LatencyMs,
    SortedDictionary<int, int> StatusCounts,
    int Failed,
    string[] ErrorSamples,
    int RetriedAfter,
    RequestTimeline Timeline)
{
    public double PerSecond(int done) => done / Elapsed.TotalSeconds;

    public string Latency()
    {
        if (LatencyMs.Length == 0)
        {
            return "(no requests)";
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"p50 {Percentile(50):F1}  p95 {Percentile(95):F1}  p99 {Percentile(99):F1}  max {LatencyMs[^1]:F1}");
    }

    public string Statuses() =>
        string.Join(", ", StatusCounts.Select(kv => $"{(kv.Key == 0 ? "no-answer" : kv.Key)}={kv.Value}"))
        + (RetriedAfter > 0 ? $" ({RetriedAfter} answers sent again after their Retry-After)" : "");

    private double Percentile(double p) => Percentile(LatencyMs, p);

    /// <summary>Nearest-rank percentile of values sorted ascending.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>When each request of a batch started (ms after the batch began) and how long it took, by request index.</summary>
internal sealed record RequestTimeline(double[] StartMs, double[] DurationMs);
