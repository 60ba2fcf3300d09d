using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Payments.LoadTest;

/// <summary>
/// Issue 8's bench: a settlement report of N charge lines (and one payout line) against a ledger of N pay-ins seeded with
/// COPY, uploaded to <c>POST /v1/reconciliation/runs</c> and polled until SUCCEEDED; reports the time (upload and staging,
/// matching, total), the server's RSS growth, and whether every line matched with no break.
/// </summary>
internal static class ReconciliationBench
{
    private static readonly TimeSpan RssPeriod = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--help", StringComparer.Ordinal) || args.Contains("-h", StringComparer.Ordinal))
        {
            Console.WriteLine(ReconciliationBenchOptions.Usage);
            return 0;
        }

        var options = ReconciliationBenchOptions.TryParse(args, out var error);
        if (options is null)
        {
            Console.Error.WriteLine($"error: {error}");
            Console.Error.WriteLine(ReconciliationBenchOptions.Usage);
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // Let the finally blocks stop the server and delete the files.
            e.Cancel = true;
            cancel.Cancel();
        };

        // Short: it is repeated in every id of every line, and the report must stay within the upload limit.
        var runId = Guid.NewGuid().ToString("N")[..8];
        // Three days ago: the run's window reaches back over it and the settlement lag (2 days) has passed, so the
        // missing-in-settlement query weighs every seeded pay-in (and must find none missing).
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-3);
        var data = new SettlementBenchData(runId, options.Lines, day);
        Console.WriteLine($"reconciliation bench {runId}: {options.Lines} charge lines + 1 payout line against {options.Lines} pay-ins booked on {day:yyyy-MM-dd}");

        var reportPath = Path.Combine(Path.GetTempPath(), $"settlement-bench-{runId}.csv");
        try
        {
            await using var server = options.ServerPid is null
                ? await BenchServer.StartAsync(options, runId, cancel.Token)
                : BenchServer.Attach(options);
            Console.WriteLine($"server:             {server.Description}");
            return await MeasureAsync(options, server, data, reportPath, cancel.Token);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.WriteLine("result: FAIL (interrupted)");
            return 1;
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or Npgsql.NpgsqlException or IOException)
        {
            Console.WriteLine($"error: {ex.GetType().Name}: {ex.Message}");
            Console.WriteLine("result: FAIL");
            return 1;
        }
        finally
        {
            if (File.Exists(reportPath))
            {
                File.Delete(reportPath);
            }
        }
    }

    private static async Task<int> MeasureAsync(ReconciliationBenchOptions options, BenchServer server, SettlementBenchData data, string reportPath, CancellationToken cancellationToken)
    {
        var seedClock = Stopwatch.StartNew();
        var seed = await LedgerSeeder.SeedAsync(server.ConnectionString, data, cancellationToken);
        Console.WriteLine($"ledger seeded:      {data.Count} transactions + {2L * data.Count} entries (ids from {seed.FirstTransactionId}) in {seedClock.Elapsed.TotalSeconds:F1} s: "
            + $"COPY {seed.Copy.TotalSeconds:F1} s, commit (balance checks) {seed.Commit.TotalSeconds:F1} s, vacuum/analyze/checkpoint {seed.VacuumAnalyze.TotalSeconds:F1} s");

        var writeClock = Stopwatch.StartNew();
        var bytes = data.WriteReport(reportPath);
        Console.WriteLine($"report written:     {data.Count + 1} lines, {bytes / 1e6:F1} MB in {writeClock.Elapsed.TotalSeconds:F1} s ({reportPath})");

        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = server.BaseUrl,
            // The upload is answered only once the whole file is staged.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.OperatorKey);

        var statementLog = options.LogStatementsOverMs is { } thresholdMs
            ? await SlowStatementLog.StartAsync(server.ConnectionString, thresholdMs, cancellationToken)
            : null;
        await using var rss = new RssSampler(server.Pid, RssPeriod);
        var before = rss.Read() ?? throw new InvalidOperationException($"cannot read /proc/{server.Pid}/status");
        rss.Start();

        RunView? run;
        string runIdOnServer;
        TimeSpan upload, total;
        DateTimeOffset acceptedAt;
        Console.WriteLine($"load average:       {CpuAccount.LoadAverage()} before the upload");
        var cpu = CpuAccount.Start(server.Pid, server.DataDirectory);
        var clock = Stopwatch.StartNew();
        try
        {
            (runIdOnServer, acceptedAt) = await UploadAsync(http, reportPath, data.RunId, cancellationToken);
            upload = clock.Elapsed;
            Console.WriteLine($"upload accepted:    {runIdOnServer} after {upload.TotalSeconds:F2} s");
            Console.WriteLine($"cpu, upload:        {cpu.Summary()}");
            cpu = CpuAccount.Start(server.Pid, server.DataDirectory);
            run = await WaitUntilFinishedAsync(http, runIdOnServer, clock, options.RunTimeout, cancellationToken);
            total = clock.Elapsed;
            Console.WriteLine($"cpu, matching:      {cpu.Summary()}");
        }
        finally
        {
            await rss.StopAsync();
            if (statementLog is not null)
            {
                await statementLog.StopAndPrintAsync(options.LogStatementsOverMs!.Value);
            }
        }

        var after = rss.Read();
        return Report(options, data, run, runIdOnServer, upload, total, acceptedAt, before, rss, after, await BreakSampleAsync(http, run, runIdOnServer));
    }

    /// <summary>Streams the file (never whole in memory) as the request body; returns the run id and when the 202 came.</summary>
    private static async Task<(string RunId, DateTimeOffset AcceptedAt)> UploadAsync(HttpClient http, string path, string benchRunId, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/reconciliation/runs")
        {
            Content = new StreamContent(file, 1 << 16) { Headers = { ContentType = new MediaTypeHeaderValue("text/csv") } },
        };
        request.Headers.Add("Idempotency-Key", $"recon-bench-{benchRunId}");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var acceptedAt = DateTimeOffset.UtcNow;
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if ((int)response.StatusCode != 202)
        {
            throw new InvalidOperationException($"upload answered {ConcurrentRequests.Unexpected((int)response.StatusCode, body)}");
        }

        return (PayInPhase.ReadString(body, "run_id") ?? throw new InvalidOperationException("the 202 names no run_id"), acceptedAt);
    }

    private static async Task<RunView?> WaitUntilFinishedAsync(HttpClient http, string runId, Stopwatch clock, TimeSpan timeout, CancellationToken cancellationToken)
    {
        RunView? run = null;
        var lastProgress = clock.Elapsed;
        var deadline = clock.Elapsed + timeout;
        while (clock.Elapsed < deadline)
        {
            using (var response = await http.GetAsync($"v1/reconciliation/runs/{runId}", cancellationToken))
            {
                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    run = RunView.Parse(body);
                    if (run.Status != "RUNNING")
                    {
                        return run;
                    }
                }
                else
                {
                    Console.WriteLine($"  poll answered {ConcurrentRequests.Unexpected((int)response.StatusCode, body)}");
                }
            }

            if (clock.Elapsed - lastProgress >= ProgressInterval)
            {
                lastProgress = clock.Elapsed;
                Console.WriteLine($"  {clock.Elapsed.TotalSeconds,6:F1} s: {run?.Status ?? "?"}, stage {run?.Stage ?? "?"}, attempts {run?.Attempts ?? 0}");
            }

            await Task.Delay(PollInterval, cancellationToken);
        }

        Console.WriteLine($"  gave up waiting after {timeout.TotalSeconds:F0} s");
        return run;
    }

    /// <summary>The first few breaks of a run that found any: what went wrong, for the report.</summary>
    private static async Task<string?> BreakSampleAsync(HttpClient http, RunView? run, string runId)
    {
        if (run is null || run.AutoFixed + run.ManualReview + run.Investigate == 0)
        {
            return null;
        }

        using var response = await http.GetAsync($"v1/reconciliation/runs/{runId}/breaks");
        var body = await response.Content.ReadAsStringAsync();
        return body.Length <= 1500 ? body : body[..1500] + "...";
    }

    private static int Report(
        ReconciliationBenchOptions options, SettlementBenchData data, RunView? run, string runId, TimeSpan upload, TimeSpan total,
        DateTimeOffset acceptedAt, (long RssKb, long HighWaterKb) before, RssSampler rss, (long RssKb, long HighWaterKb)? after, string? breakSample)
    {
        var expected = (long)data.Count + 1;
        var succeeded = run?.Status == "SUCCEEDED";
        var breaks = run is null ? 0 : run.AutoFixed + run.ManualReview + run.Investigate;
        var matchingSeconds = run?.FinishedAt is { } finished ? (finished - acceptedAt).TotalSeconds : double.NaN;
        var serverSeconds = run?.FinishedAt is { } end ? (end - run.StartedAt).TotalSeconds : double.NaN;
        var peakKb = Math.Max(rss.PeakKb, before.RssKb);
        var growthMb = (peakKb - before.RssKb) / 1024.0;
        var countsOk = succeeded && run!.Lines == expected && run.Matched == expected && breaks == 0;
        var timeOk = succeeded && total.TotalSeconds <= options.GoalSeconds;
        var memoryOk = growthMb <= options.GoalRssGrowthMb;

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            run:                {runId} {run?.Status ?? "(unknown)"}{(run?.Failure is { } failure ? $" ({failure})" : "")}, stage {run?.Stage}, attempts {run?.Attempts}, date {run?.Date}
            lines:              {run?.Lines} (expected {expected})
            matched:            {run?.Matched} (expected {expected})
            breaks:             {breaks} (auto_fixed {run?.AutoFixed}, manual_review {run?.ManualReview}, investigate {run?.Investigate}; expected 0)
            total:              {total.TotalSeconds:F2} s (upload start to SUCCEEDED seen, polled every {PollInterval.TotalMilliseconds:F0} ms)
            upload + staging:   {upload.TotalSeconds:F2} s (upload start to the 202)
            matching:           {matchingSeconds:F2} s (the 202 to finished_at); server started_at to finished_at {serverSeconds:F2} s
            server RSS:         before {before.RssKb / 1024.0:F1} MB, peak {peakKb / 1024.0:F1} MB, growth {growthMb:F1} MB ({rss.Samples} samples every {RssPeriod.TotalMilliseconds:F0} ms); after {(after is { } a ? $"{a.RssKb / 1024.0:F1}" : "?")} MB; VmHWM before {before.HighWaterKb / 1024.0:F1} MB, after {(after is { } h ? $"{h.HighWaterKb / 1024.0:F1}" : "?")} MB
            goal time:          {(timeOk ? "PASS" : "FAIL")} ({total.TotalSeconds:F2} s, goal <= {options.GoalSeconds} s)
            goal memory:        {(memoryOk ? "PASS" : "FAIL")} ({growthMb:F1} MB, goal <= {options.GoalRssGrowthMb} MB)
            goal counts:        {(countsOk ? "PASS" : "FAIL")} (SUCCEEDED, matched = lines = N+1, no breaks)
            """));
        if (breakSample is not null)
        {
            Console.WriteLine($"breaks (first page): {breakSample}");
        }

        var passed = countsOk && timeOk && memoryOk;
        Console.WriteLine($"result: {(passed ? "PASS" : "FAIL")}");
        return passed ? 0 : 1;
    }

    /// <summary>What <c>GET /v1/reconciliation/runs/{id}</c> answers, as far as the bench needs it.</summary>
    private sealed record RunView(
        string Status, string? Stage, string? Date, int Attempts, long Lines, long Matched, long AutoFixed, long ManualReview, long Investigate,
        DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string? Failure)
    {
        public static RunView Parse(byte[] body)
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            string? Text(JsonElement element, string name) =>
                element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            long Number(JsonElement element, string name) =>
                element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : 0;
            DateTimeOffset? Time(string name) => Text(root, name) is { } text
                ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
                : null;
            var breaks = root.TryGetProperty("breaks", out var b) && b.ValueKind == JsonValueKind.Object ? b : default;
            long Break(string name) => breaks.ValueKind == JsonValueKind.Object ? Number(breaks, name) : 0;
            return new RunView(
                Text(root, "status") ?? "?", Text(root, "stage"), Text(root, "date"), (int)Number(root, "attempts"),
                Number(root, "lines"), Number(root, "matched"), Break("auto_fixed"), Break("manual_review"), Break("investigate"),
                Time("started_at") ?? DateTimeOffset.MinValue, Time("finished_at"), Text(root, "failure"));
        }
    }
}
