using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Npgsql;

namespace Payments.LoadTest;

/// <summary>
/// Drives a running payments server with <c>POST /v1/payments</c> checkouts from a fixed number of
/// concurrent workers, reports throughput and latency, optionally fulfills and pays out everything it
/// paid in (<c>--payouts</c>), optionally kills a silo under the load (<c>--kill-pid</c>), then asks the server whether its ledger invariants still hold. With
/// <c>--reconciliation</c> it measures reconciling a large settlement report instead (<see cref="ReconciliationBench"/>); with
/// <c>--soak-minutes</c> it runs the chaos soak against a cluster (<see cref="Soak.SoakCommand"/>).
/// </summary>
internal static class Program
{
    /// <summary>The sellers of a run without <c>--payouts</c>, and of every warm-up: the same few accounts run after run.</summary>
    private static readonly SellerSet BenchSellers = new("seller_bench_", 10);

    public static async Task<int> Main(string[] args)
    {
        if (ReconciliationBenchOptions.IsRequested(args))
        {
            // Another bench altogether: one settlement report against a seeded ledger, not checkouts.
            return await ReconciliationBench.RunAsync(args);
        }

        if (Soak.SoakCommand.IsRequested(args))
        {
            // The chaos soak: a mixed workload for minutes against a cluster whose silos it kills (Soak/).
            return await Soak.SoakCommand.RunAsync(args);
        }

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

        // The load before anything of ours runs: on a shared machine it says how much of it the run had.
        var loadAtStart = MachineInfo.LoadAverage1Min();
        var database = DatabaseProbe.FromOptions(options, out error);
        if (error is not null)
        {
            Console.Error.WriteLine($"error: {error}");
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
            + $"concurrency {options.Concurrency}, warmup {options.Warmup}, token {options.Token}, {options.BaseUrl}"
            + (options.Payouts ? $", payouts to {options.PayoutSellers} sellers" : ""));
        var postgresVersion = database is null ? null : await ServerVersionAsync(database);
        if (postgresVersion is null)
        {
            // Commits per order and the pgbench ratio need the database; the rest of the run does not.
            database = null;
        }

        if (options.Warmup > 0)
        {
            // Warm-up lets the JIT, connection pool, grain activations and database pool settle first.
            // It pays the usual bench sellers, never this run's payout sellers, whose wallets must hold exactly the measured orders.
            var warm = await PayInPhase.RunAsync(http, options, BenchSellers, $"{runId}w", options.Warmup);
            Console.WriteLine($"warmup: {options.Warmup} checkouts in {warm.Batch.Elapsed.TotalSeconds:F2} s, "
                + $"{warm.Batch.Count - warm.Batch.StatusCounts.GetValueOrDefault(201)} not 201");
        }

        // Sellers of their own per run: a wallet that earlier runs paid would not end at what this run paid in.
        var sellers = options.Payouts ? new SellerSet($"seller_lt{runId}_", options.PayoutSellers) : BenchSellers;
        var commitsBefore = database is null ? null : await CommitsAsync(database);
        await using var rss = RssMilestones.FromOptions(options);
        rss?.ReadBefore();
        // CPU per order, the figure that does not move with the neighbours' load: needs the server's pid and its data directory.
        var cpu = options.ServerPid is { } serverPid && options.DataDirectory is { } dataDirectory ? CpuAccount.Start(serverPid, dataDirectory) : null;
        // The kill is timed from the start of the measured checkouts, on the clock their timeline is read against.
        var measured = Stopwatch.StartNew();
        var kill = options.KillPid is { } pid ? FailoverPhase.KillAfterAsync(pid, TimeSpan.FromSeconds(options.KillAfterSeconds), measured) : null;
        var payIn = await PayInPhase.RunAsync(http, options, sellers, runId, options.Checkouts, rss is null ? null : _ => rss.CheckoutDone());
        // RunAsync returns once every checkout answered 202 has finished too: every measured order is done here.
        rss?.ReadAfter();
        var cpuSummary = cpu?.Summary();
        var cpuPerOrder = cpu?.PerOrder((long)payIn.Batch.Count * options.OrdersPerCheckout);
        var loadAtEnd = MachineInfo.LoadAverage1Min();
        var measuredOrders = (long)payIn.Batch.Count * options.OrdersPerCheckout;
        var ordersPerSecond = measuredOrders / payIn.Batch.Elapsed.TotalSeconds;
        PayInPhase.Print(options, payIn);
        if (cpu is not null)
        {
            Console.WriteLine($"cpu:                {cpuSummary}");
            Console.WriteLine($"cpu per order:      {cpuPerOrder}");
        }
        if (kill is not null && await kill is { } killedAt)
        {
            FailoverPhase.Print(payIn.Batch.Timeline, killedAt);
        }

        double? commitsPerOrder = null;
        if (options.DatabaseConnectionString is null && options.DataDirectory is null)
        {
            Console.WriteLine("database:           not given (--database or --data-dir): no commits per order, no pgbench ratio");
        }
        else if (database is not null && commitsBefore is { } before && await CommitsAsync(database) is { } after)
        {
            commitsPerOrder = (double)(after - before) / measuredOrders;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"database commits: {after - before}, per order: {commitsPerOrder:F1} (target <= {TargetsReport.CommitsPerOrderMax:F0})"));
        }

        rss?.Print(measuredOrders);
        var payoutsOk = true;
        if (options.Payouts)
        {
            var payout = await PayoutPhase.RunAsync(http, options, sellers, runId, payIn);
            Console.WriteLine($"rates:              {ordersPerSecond:F1} orders/s, {payout.FulfillmentsPerSecond:F1} fulfillments/s, "
                + $"{payout.PayoutsPerSecond:F1} payouts/s created, {payout.SettledPerSecond:F1} payouts/s settled");
            payoutsOk = payout.Passed;
        }

        var invariantsOk = await CheckInvariantsAsync(http, options);

        // pgbench last, outside the measured window and after the checks: it loads the same PostgreSQL server.
        double? ratio = null;
        if (database is not null && options.PgbenchSeconds > 0
            && await PgbenchRatio.RunAsync(database.ConnectionString, options.PgbenchSeconds) is { } tps && tps > 0)
        {
            ratio = ordersPerSecond / tps;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ratio orders/s / pgbench tps: {ratio:F3} ({ordersPerSecond:F1} / {tps:F1}; target >= {TargetsReport.RatioMin:F2})"));
        }
        else if (database is not null && options.PgbenchSeconds == 0)
        {
            Console.WriteLine("pgbench -N tps: not measured (--pgbench-seconds 0)");
        }

        Console.WriteLine(MachineInfo.Describe(loadAtStart, loadAtEnd, postgresVersion));
        TargetsReport.Print(new RunFigures(
            options.Concurrency, options.OrdersPerCheckout, ordersPerSecond,
            RequestBatch.Percentile(payIn.Batch.LatencyMs, 50), RequestBatch.Percentile(payIn.Batch.LatencyMs, 99),
            ratio, commitsPerOrder, rss?.ChangePercent, rss?.ReadsFlatness ?? false));

        var passed = payIn.Passed && payoutsOk && invariantsOk;
        Console.WriteLine($"result: {(passed ? "PASS" : "FAIL")}");
        return passed ? 0 : 1;
    }

    /// <summary>The database's version; null, with the reason printed, when it cannot be reached (the run goes on without it).</summary>
    private static async Task<string?> ServerVersionAsync(DatabaseProbe database)
    {
        try
        {
            var version = await database.ServerVersionAsync();
            Console.WriteLine($"database:           PostgreSQL {version} (from {database.Source})");
            return version;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            Console.WriteLine($"database:           not reachable ({database.Source}: {ex.Message}): no commits per order, no pgbench ratio");
            return null;
        }
    }

    /// <summary>The database's commit count; null, with the reason printed, when it cannot be read.</summary>
    private static async Task<long?> CommitsAsync(DatabaseProbe database)
    {
        try
        {
            return await database.CommitsAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            Console.WriteLine($"database commits: not measured ({ex.Message})");
            return null;
        }
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
                Console.WriteLine($"invariants:         request failed {(int)response.StatusCode}: {ConcurrentRequests.Truncate(text)}");
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
}
