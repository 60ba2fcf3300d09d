using System.Globalization;

namespace Payments.LoadTest;

/// <summary>Command-line settings of one load-test run.</summary>
internal sealed record LoadTestOptions(
    Uri BaseUrl,
    int Checkouts,
    int Concurrency,
    int OrdersPerCheckout,
    string ApiKey,
    string OperatorKey,
    string Token,
    int Warmup,
    bool Payouts,
    int PayoutSellers,
    int? KillPid = null,
    int KillAfterSeconds = LoadTestOptions.KillAfterSecondsDefault,
    string? DatabaseConnectionString = null,
    string? DataDirectory = null,
    int PgbenchSeconds = PgbenchRatio.SecondsDefault,
    int? ServerPid = null,
    long[]? RssAt = null)
{
    /// <summary>With <c>--kill-pid</c>: seconds into the measured checkouts at which the process is killed.</summary>
    public const int KillAfterSecondsDefault = 8;

    /// <summary>Sellers paid with <c>--payouts</c> unless <c>--payout-sellers</c> says otherwise: enough payouts to measure.</summary>
    public const int PayoutSellersDefault = 200;

    /// <summary>One payout per seller, each a few requests: a bound that keeps a run within minutes.</summary>
    public const int PayoutSellersMax = 100_000;

    public const string Usage = """
        Usage: Payments.LoadTest [options]
          --url URL                  server base address         (default http://127.0.0.1:5080)
          --checkouts N              measured checkouts, N >= 1  (default 1000)
          --concurrency C            concurrent workers, C >= 1  (default 16)
          --orders-per-checkout K    orders per checkout, 1..100 (default 1)
          --api-key KEY              merchant API key            (default sk_test_demo_merchant)
          --operator-key KEY         operator API key            (default sk_test_demo_operator)
          --token TOKEN              PSP payment-method token    (default pm_card_visa)
          --warmup N                 unmeasured checkouts first  (default 50)
          --payouts                  after the measured checkouts, fulfill every order paid in, pay
                                     each seller out its whole available balance, wait (at most
                                     2 min) until every payout is PAID, and check each wallet
          --payout-sellers N         with --payouts: sellers the measured orders are spread over,
                                     one payout each, 1..100000 (default 200; without --payouts
                                     the orders go to the same 10 bench sellers every run)
          --kill-pid PID             kill process PID (a silo of a cluster the bench drives through its
                                     gateway) with SIGKILL during the measured checkouts, then report
                                     how long the cluster took to recover and the latencies meanwhile
          --kill-after S             with --kill-pid: seconds into the measured checkouts (default 8)
          --database CONNSTR         the server's PostgreSQL (an Npgsql connection string): count its commits per
                                     order (pg_stat_database) around the measured checkouts, then run pgbench -N on
                                     the same PostgreSQL server (database pgbench_ratio, made and initialized with
                                     -s 10 if missing; 16 clients, 2 threads) and print orders/s against its tps.
                                     Each commit count is read 11 s after the phase before it ends: PostgreSQL's
                                     idle backends report their counts up to 10 s late
          --data-dir DIR             instead of --database: the server's data directory; its private PostgreSQL is
                                     found through DIR/postgres/postmaster.pid (127.0.0.1, user postgres, database
                                     payments). Without either, no commit count and no pgbench
          --pgbench-seconds S        how long pgbench runs, 0..3600, 0 for none (default 15)
          --server-pid PID           the server process: its VmRSS is read before and after the measured checkouts
          --rss-at N1,N2             with --server-pid: also read VmRSS when N1 and then N2 measured orders are done,
                                     and judge the change (target within 10 %); default 100000,300000 when the run
                                     has that many orders
          --reconciliation           another bench: reconcile a settlement report of --lines N (default 1000000)
                                     against as many pay-ins seeded into the ledger; see --reconciliation --help
          --soak-minutes N           another bench: the chaos soak against soak-cluster.sh's cluster (mixed workload,
                                     PSP faults, a silo killed every 20 s, then the checks); see soak-cluster.sh
        After the result lines it prints the machine (cores, memory, load, OS, .NET, PostgreSQL) and the issue's
        targets that apply to the run's shape, each met or missed; they are a report and do not change the exit code.
        An answer 503 or 409 with Retry-After is counted, then sent again (same key) after that long.
        Exit code: 0 if every measured checkout was accepted (201, or 202 and finished) and SUCCEEDED,
        with --payouts every fulfillment answered 200, every payout 201 and then PAID, and every wallet
        ended with pending, available and reserved 0.00 and paid_out = what was paid in, and the
        invariants hold; 1 otherwise, 2 for bad arguments.
        """;

    /// <summary>Parses <paramref name="args"/>; returns null with a reason when they are not valid.</summary>
    public static LoadTestOptions? TryParse(string[] args, out string? error)
    {
        var options = new LoadTestOptions(
            new Uri("http://127.0.0.1:5080"), 1000, 16, 1,
            "sk_test_demo_merchant", "sk_test_demo_operator", "pm_card_visa", 50, false, PayoutSellersDefault);
        error = null;
        var payoutSellersGiven = false;

        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--payouts")
            {
                // The one option without a value.
                options = options with { Payouts = true };
                continue;
            }

            if (i + 1 >= args.Length)
            {
                error = $"missing value for {name}";
                return null;
            }

            var value = args[++i];
            switch (name)
            {
                case "--url":
                    if (!OptionValues.TryHttpUrl(value, out var url, ref error, name)) return null;

                    options = options with { BaseUrl = url };
                    break;
                case "--checkouts":
                    if (!OptionValues.TryInt(value, 1, int.MaxValue, out var checkouts, ref error, name)) return null;
                    options = options with { Checkouts = checkouts };
                    break;
                case "--concurrency":
                    if (!OptionValues.TryInt(value, 1, 4096, out var concurrency, ref error, name)) return null;
                    options = options with { Concurrency = concurrency };
                    break;
                case "--orders-per-checkout":
                    // The API accepts 1–100 orders per checkout.
                    if (!OptionValues.TryInt(value, 1, 100, out var orders, ref error, name)) return null;
                    options = options with { OrdersPerCheckout = orders };
                    break;
                case "--warmup":
                    if (!OptionValues.TryInt(value, 0, int.MaxValue, out var warmup, ref error, name)) return null;
                    options = options with { Warmup = warmup };
                    break;
                case "--payout-sellers":
                    if (!OptionValues.TryInt(value, 1, PayoutSellersMax, out var payoutSellers, ref error, name)) return null;
                    options = options with { PayoutSellers = payoutSellers };
                    payoutSellersGiven = true;
                    break;
                case "--kill-pid":
                    if (!OptionValues.TryInt(value, 1, int.MaxValue, out var pid, ref error, name)) return null;
                    options = options with { KillPid = pid };
                    break;
                case "--kill-after":
                    if (!OptionValues.TryInt(value, 0, 3600, out var killAfter, ref error, name)) return null;
                    options = options with { KillAfterSeconds = killAfter };
                    break;
                case "--database" when value.Length > 0:
                    options = options with { DatabaseConnectionString = value };
                    break;
                case "--data-dir" when value.Length > 0:
                    options = options with { DataDirectory = Path.GetFullPath(value) };
                    break;
                case "--pgbench-seconds":
                    if (!OptionValues.TryInt(value, 0, 3600, out var pgbenchSeconds, ref error, name)) return null;
                    options = options with { PgbenchSeconds = pgbenchSeconds };
                    break;
                case "--server-pid":
                    if (!OptionValues.TryInt(value, 1, int.MaxValue, out var serverPid, ref error, name)) return null;
                    options = options with { ServerPid = serverPid };
                    break;
                case "--rss-at":
                    if (!TryOrderCounts(value, out var rssAt, ref error, name)) return null;
                    options = options with { RssAt = rssAt };
                    break;
                case "--api-key" when value.Length > 0:
                    options = options with { ApiKey = value };
                    break;
                case "--operator-key" when value.Length > 0:
                    options = options with { OperatorKey = value };
                    break;
                case "--token" when value.Length > 0:
                    options = options with { Token = value };
                    break;
                default:
                    error = $"unknown option or empty value: {name} '{value}'";
                    return null;
            }
        }

        if (payoutSellersGiven && !options.Payouts)
        {
            // Without --payouts the orders go to the fixed bench sellers: say so rather than ignore the option.
            error = "--payout-sellers needs --payouts";
            return null;
        }

        if (options.RssAt is not null && options.ServerPid is null)
        {
            error = "--rss-at needs --server-pid";
            return null;
        }

        return options;
    }

    /// <summary>"N1,N2": two order counts, 1 &lt;= N1 &lt; N2, the points at which the server's RSS is read.</summary>
    private static bool TryOrderCounts(string text, out long[] counts, ref string? error, string name)
    {
        var parts = text.Split(',');
        counts = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out counts[i]) || counts[i] < 1)
            {
                counts = [];
                break;
            }
        }

        if (counts.Length == 2 && counts[0] < counts[1])
        {
            return true;
        }

        error = $"{name} must be two order counts N1,N2 with 1 <= N1 < N2, got '{text}'";
        return false;
    }
}
