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

    public static async Task<RequestBatch> RunAsync(
        HttpClient http, int count, int concurrency, Func<int, HttpRequestMessage> createRequest, ResponseCheck check)
    {
        // Preallocated per-request slots: each index is written by exactly one worker, so no locking,
        // and memory stays flat however long the run.
        var latencyMs = new double[count];
        var statuses = new short[count];
        var failed = 0;
        var errorSamples = new ConcurrentQueue<string>();
        var next = -1;

        async Task WorkerAsync()
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count)
                {
                    return;
                }

                using var request = createRequest(i);
                var start = Stopwatch.GetTimestamp();
                short status;
                string? failure;
                try
                {
                    using var response = await http.SendAsync(request);
                    var body = await response.Content.ReadAsByteArrayAsync();
                    status = (short)response.StatusCode;
                    failure = check(i, status, body);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // Status 0 stands for "no HTTP answer" (connection refused, timeout).
                    status = 0;
                    failure = $"0: {ex.GetType().Name}: {ex.Message}";
                }

                latencyMs[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                statuses[i] = status;
                if (failure is not null)
                {
                    Interlocked.Increment(ref failed);
                    if (errorSamples.Count < ErrorSamplesMax)
                    {
                        errorSamples.Enqueue(failure);
                    }
                }
            }
        }

        var clock = Stopwatch.StartNew();
        var workers = new Task[Math.Min(concurrency, count)];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(WorkerAsync);
        }

        await Task.WhenAll(workers);
        clock.Stop();

        var statusCounts = new SortedDictionary<int, int>();
        foreach (var s in statuses)
        {
            statusCounts[s] = statusCounts.GetValueOrDefault(s) + 1;
        }

        Array.Sort(latencyMs);
        return new RequestBatch(count, clock.Elapsed, latencyMs, statusCounts, failed, [.. errorSamples]);
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

/// <summary>What one batch measured. <see cref="LatencyMs"/> is sorted ascending.</summary>
internal sealed record RequestBatch(
    int Count,
    TimeSpan Elapsed,
    double[] LatencyMs,
    SortedDictionary<int, int> StatusCounts,
    int Failed,
    string[] ErrorSamples)
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
        string.Join(", ", StatusCounts.Select(kv => $"{(kv.Key == 0 ? "no-answer" : kv.Key)}={kv.Value}"));

    /// <summary>Nearest-rank percentile.</summary>
    private double Percentile(double p)
    {
        var rank = (int)Math.Ceiling(p / 100 * LatencyMs.Length);
        return LatencyMs[Math.Clamp(rank - 1, 0, LatencyMs.Length - 1)];
    }
}
