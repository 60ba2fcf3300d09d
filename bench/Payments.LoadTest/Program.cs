using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Payments.LoadTest;

/// <summary>
/// Drives a running payments server with <c>POST /v1/payments</c> checkouts from a fixed number of
/// concurrent workers, reports throughput and latency, then asks the server whether its ledger
/// invariants still hold.
/// </summary>
internal static class Program
{
    private const int MaxErrorSamples = 5;

    /// <summary>How long checkouts answered 202 may take to finish before they count as failed.</summary>
    private static readonly TimeSpan FinishingLaterTimeout = TimeSpan.FromMinutes(2);
    private const int Sellers = 10;

    public static async Task<int> Main(string[] args)
    {
        if (args is ["--help"] or ["-h"])
        {
            Console.WriteLine(LoadTestOptions.Usage);
            return 0;
        }

        var options = LoadTestOptions.TryParse(args, out var error);
        if (options is null)
        {
            Console.Error.WriteLine($"error: {error}");
            Console.Error.WriteLine(LoadTestOptions.Usage);
            return 2;
        }

        using var http = new HttpClient(new SocketsHttpHandler
        {
            // One connection per worker: no worker waits for another's connection.
            MaxConnectionsPerServer = options.Concurrency,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        })
        {
            BaseAddress = options.BaseUrl,
            // Longer than the server's synchronous window, so a slow answer is measured, not lost.
            Timeout = TimeSpan.FromSeconds(60),
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);

        // Ids must be unique across runs against the same database, or the server answers 409.
        var runId = DateTime.UtcNow.ToString("yyMMddHHmmss", CultureInfo.InvariantCulture)
            + Guid.NewGuid().ToString("N")[..6];
        Console.WriteLine($"run {runId}: {options.Checkouts} checkouts x {options.OrdersPerCheckout} orders, "
            + $"concurrency {options.Concurrency}, warmup {options.Warmup}, token {options.Token}, {options.BaseUrl}");

        if (options.Warmup > 0)
        {
            // Warm-up lets the JIT, connection pool, grain activations and database pool settle first.
            var warm = await RunPhaseAsync(http, options, $"{runId}w", options.Warmup);
            Console.WriteLine($"warmup: {options.Warmup} checkouts in {warm.Elapsed.TotalSeconds:F2} s, "
                + $"{warm.Checkouts - warm.StatusCounts.GetValueOrDefault(201)} not 201");
        }

        var result = await RunPhaseAsync(http, options, runId, options.Checkouts);
        PrintResult(options, result);

        var invariantsOk = await CheckInvariantsAsync(http, options);
        // Every checkout accepted (201, or 202 and finished later) and ended SUCCEEDED, and the books hold.
        var allAccepted = result.StatusCounts.GetValueOrDefault(201) + result.StatusCounts.GetValueOrDefault(202) == result.Checkouts;
        var passed = allAccepted && result.NotSucceeded == 0 && invariantsOk;
        Console.WriteLine($"result: {(passed ? "PASS" : "FAIL")}");
        return passed ? 0 : 1;
    }

    /// <summary>Sends <paramref name="count"/> checkouts from the configured number of workers.</summary>
    private static async Task<PhaseResult> RunPhaseAsync(HttpClient http, LoadTestOptions options, string idPrefix, int count)
    {
        // Preallocated per-request slots: each index is written by exactly one worker, so no locking,
        // and memory stays flat however long the run.
        var latencyMs = new double[count];
        var statuses = new short[count];
        var notSucceeded = 0;
        var errorSamples = new ConcurrentQueue<string>();
        var finishingLater = new ConcurrentQueue<string>();
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

                var body = CheckoutBody(options, idPrefix, i);
                using var request = new HttpRequestMessage(HttpMethod.Post, "v1/payments")
                {
                    Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
                };
                request.Headers.Add("Idempotency-Key", $"{idPrefix}-{i}-{Guid.NewGuid():N}");

                var start = Stopwatch.GetTimestamp();
                short status;
                string? checkoutStatus = null;
                string? failure = null;
                try
                {
                    using var response = await http.SendAsync(request);
                    var bytes = await response.Content.ReadAsByteArrayAsync();
                    status = (short)response.StatusCode;
                    if (status is 201 or 202)
                    {
                        checkoutStatus = ReadStatus(bytes);
                    }
                    else
                    {
                        failure = $"{status}: {Truncate(Encoding.UTF8.GetString(bytes))}";
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // Status 0 stands for "no HTTP answer" (connection refused, timeout).
                    status = 0;
                    failure = $"0: {ex.GetType().Name}: {ex.Message}";
                }

                latencyMs[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                statuses[i] = status;
                if (status == 202)
                {
                    // Accepted, still working (a PSP retry outlasted the synchronous window): judged once it is done.
                    finishingLater.Enqueue(CheckoutId(idPrefix, i));
                }
                else if (checkoutStatus != "SUCCEEDED")
                {
                    Interlocked.Increment(ref notSucceeded);
                    failure ??= $"{status}: checkout status {checkoutStatus ?? "(none)"}";
                }

                if (failure is not null && errorSamples.Count < MaxErrorSamples)
                {
                    errorSamples.Enqueue(failure);
                }
            }
        }

        var clock = Stopwatch.StartNew();
        var workers = new Task[Math.Min(options.Concurrency, count)];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(WorkerAsync);
        }

        await Task.WhenAll(workers);
        clock.Stop();
        notSucceeded += await CountNotSucceededWhenDoneAsync(http, finishingLater, errorSamples);

        var statusCounts = new SortedDictionary<int, int>();
        foreach (var s in statuses)
        {
            statusCounts[s] = statusCounts.GetValueOrDefault(s) + 1;
        }

        return new PhaseResult(count, clock.Elapsed, latencyMs, statusCounts, notSucceeded, [.. errorSamples]);
    }

    /// <summary>The JSON body of checkout <paramref name="index"/>: K orders spread over a few sellers.</summary>
    private static byte[] CheckoutBody(LoadTestOptions options, string idPrefix, int index)
    {
        using var buffer = new MemoryStream(256 + (options.OrdersPerCheckout * 128));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("checkout_id", CheckoutId(idPrefix, index));
            json.WriteStartObject("buyer");
            json.WriteString("id", $"buyer_bench_{index % 100}");
            json.WriteString("email", "bench@example.com");
            json.WriteEndObject();
            json.WriteStartObject("payment_method");
            json.WriteString("type", "token");
            json.WriteString("token", options.Token);
            json.WriteEndObject();
            json.WriteStartArray("orders");
            for (var k = 0; k < options.OrdersPerCheckout; k++)
            {
                // Varied but deterministic amounts from 1.00 to 999.99 USD.
                var minor = 100 + ((((long)index * 37) + (k * 101)) % 99_900);
                json.WriteStartObject();
                json.WriteString("payment_order_id", $"po_lt{idPrefix}_{index}_{k}");
                json.WriteString("seller_account", $"seller_bench_{(index + k) % Sellers}");
                json.WriteString("amount", string.Create(CultureInfo.InvariantCulture, $"{minor / 100}.{minor % 100:D2}"));
                json.WriteString("currency", "USD");
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static string CheckoutId(string idPrefix, int index) => $"chk_lt{idPrefix}_{index}";

    /// <summary>Waits (bounded) for checkouts answered 202 to finish, and counts those that did not end SUCCEEDED.</summary>
    private static async Task<int> CountNotSucceededWhenDoneAsync(HttpClient http, IEnumerable<string> checkoutIds, ConcurrentQueue<string> errorSamples)
    {
        var deadline = Stopwatch.StartNew();
        var notSucceeded = 0;
        foreach (var checkoutId in checkoutIds)
        {
            string? status = null;
            for (var poll = 0; deadline.Elapsed < FinishingLaterTimeout; poll++)
            {
                using var response = await http.GetAsync($"v1/checkouts/{checkoutId}");
                var body = await response.Content.ReadAsByteArrayAsync();
                status = ReadStatus(body);
                if (status is "SUCCEEDED" or "FAILED" or "PARTIALLY_FAILED")
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50 * (poll + 1), 1000)));
            }

            if (status != "SUCCEEDED")
            {
                notSucceeded++;
                if (errorSamples.Count < MaxErrorSamples)
                {
                    errorSamples.Enqueue($"202 then {status ?? "(none)"}: {checkoutId}");
                }
            }
        }

        return notSucceeded;
    }

    private static string? ReadStatus(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("status", out var status) ? status.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void PrintResult(LoadTestOptions options, PhaseResult result)
    {
        var seconds = result.Elapsed.TotalSeconds;
        var orders = (long)result.Checkouts * options.OrdersPerCheckout;
        Array.Sort(result.LatencyMs);

        Console.WriteLine($"checkouts sent:     {result.Checkouts}");
        Console.WriteLine($"orders:             {orders}");
        Console.WriteLine($"elapsed:            {seconds:F2} s");
        Console.WriteLine($"throughput:         {orders / seconds:F1} orders/s, {result.Checkouts / seconds:F1} checkouts/s");
        Console.WriteLine($"latency ms:         p50 {Percentile(result.LatencyMs, 50):F1}  p95 {Percentile(result.LatencyMs, 95):F1}  "
            + $"p99 {Percentile(result.LatencyMs, 99):F1}  max {result.LatencyMs[^1]:F1}");
        Console.WriteLine($"http status:        {string.Join(", ", result.StatusCounts.Select(kv => $"{(kv.Key == 0 ? "no-answer" : kv.Key)}={kv.Value}"))}");
        Console.WriteLine($"not SUCCEEDED:      {result.NotSucceeded} (checkouts answered 202 are judged once they finish)");
        foreach (var sample in result.ErrorSamples)
        {
            Console.WriteLine($"  sample: {sample}");
        }
    }

    /// <summary>Nearest-rank percentile of an ascending array.</summary>
    private static double Percentile(double[] sorted, double p)
    {
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>Prints the server's invariant report; true only when it answered and every check passed.</summary>
    private static async Task<bool> CheckInvariantsAsync(HttpClient http, LoadTestOptions options)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/ops/invariants");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.OperatorKey);
        try
        {
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                Console.WriteLine($"invariants:         request failed {(int)response.StatusCode}: {Truncate(text)}");
                return false;
            }

            using var doc = JsonDocument.Parse(text);
            var ok = doc.RootElement.TryGetProperty("ok", out var okElement) && okElement.ValueKind == JsonValueKind.True;
            Console.WriteLine($"invariants ok:      {ok}");
            if (doc.RootElement.TryGetProperty("checks", out var checks) && checks.ValueKind == JsonValueKind.Array)
            {
                foreach (var check in checks.EnumerateArray())
                {
                    var passed = check.TryGetProperty("ok", out var c) && c.ValueKind == JsonValueKind.True;
                    if (!passed)
                    {
                        var name = check.TryGetProperty("name", out var n) ? n.ToString() : "?";
                        var detail = check.TryGetProperty("detail", out var d) ? d.ToString() : "";
                        Console.WriteLine($"  FAILED check {name}: {detail}");
                    }
                }
            }

            return ok;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            Console.WriteLine($"invariants:         request failed: {ex.GetType().Name}: {ex.Message}");
            return false;
        }
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";

    private sealed record PhaseResult(
        int Checkouts,
        TimeSpan Elapsed,
        double[] LatencyMs,
        SortedDictionary<int, int> StatusCounts,
        int NotSucceeded,
        string[] ErrorSamples);
}
