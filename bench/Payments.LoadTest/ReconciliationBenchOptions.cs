
namespace Payments.LoadTest;

/// <summary>
/// Command-line settings of a <c>--reconciliation</c> run: a ledger of <see cref="Lines"/> pay-ins seeded with COPY, a
/// settlement report of as many charge rows (and one payout row) uploaded, timed and measured until the run SUCCEEDED.
/// </summary>
internal sealed record ReconciliationBenchOptions(
    int Lines,
    Uri? BaseUrl,
    string OperatorKey,
    int? ServerPid,
    string? DatabaseConnectionString,
    string? DataDirectory,
    bool KeepData,
    int? LogStatementsOverMs,
    TimeSpan RunTimeout,
    double GoalSeconds,
    double GoalRssGrowthMb)
{
    /// <summary>Issue 8's goal: a million lines against a million payment orders.</summary>
    public const int LinesDefault = 1_000_000;

    public const int LinesMax = 10_000_000;

    public const string Usage = """
        Usage: Payments.LoadTest --reconciliation [options]
          --lines N                  charge rows in the report = pay-ins seeded, 1..10000000 (default 1000000);
                                     the report has one payout row more
          --server-pid PID           measure the server already running at --url (default http://127.0.0.1:5080)
                                     with that process id; without it the bench builds src/Payments.Server (Release),
                                     starts it on free ports with a private PostgreSQL of its own in a fresh data
                                     directory, and stops it (and deletes that directory) at the end
          --url URL                  with --server-pid: the server's base address
          --database CONNSTR         with --server-pid: the server's database (default: the private PostgreSQL found
                                     through <data-dir>/postgres/postmaster.pid)
          --data-dir DIR             the server's data directory (with --server-pid default PAYMENTS_DATA_DIR or the
                                     repository's .data/; without it default a new folder under the temp directory)
          --keep-data                leave the started server's data directory (to profile its database afterwards)
          --log-statements-over MS   during the run, have PostgreSQL log every statement over MS milliseconds
                                     (log_min_duration_statement) and print them afterwards: where the time goes
          --run-timeout SECONDS      give up waiting for the run after this long (default 900)
          --operator-key KEY         operator API key (default sk_test_demo_operator)
          --goal-seconds S           PASS bound on the total time (default 30)
          --goal-rss-mb MB           PASS bound on the server's RSS growth (default 300)
        Seeds, in one transaction with binary COPY, N pay-in transactions (payin:<order>, psp_receivable:stripe debit,
        seller_payable:<seller>:pending credit) booked on the report's day (3 days ago, so past the settlement lag),
        writes the N+1-line CSV to a temporary file, uploads it streamed (POST /v1/reconciliation/runs, text/csv),
        polls the run until it is SUCCEEDED and samples the server's VmRSS every 100 ms meanwhile.
        Exit code: 0 when the run SUCCEEDED with matched = N+1 and no breaks within both goals; 1 otherwise, 2 for bad
        arguments.
        """;

    public static bool IsRequested(string[] args) => args.Contains("--reconciliation", StringComparer.Ordinal);

    /// <summary>Parses <paramref name="args"/> (which hold <c>--reconciliation</c>); returns null with a reason when they are not valid.</summary>
    public static ReconciliationBenchOptions? TryParse(string[] args, out string? error)
    {
        var options = new ReconciliationBenchOptions(
            LinesDefault, null, "sk_test_demo_operator", null, null, null, false, null, TimeSpan.FromSeconds(900), 30, 300);
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--reconciliation")
            {
                continue;
            }

            if (name == "--keep-data")
            {
                options = options with { KeepData = true };
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
                case "--lines":
                    if (!OptionValues.TryInt(value, 1, LinesMax, out var lines, ref error, name)) return null;
                    options = options with { Lines = lines };
                    break;
                case "--server-pid":
                    if (!OptionValues.TryInt(value, 1, int.MaxValue, out var pid, ref error, name)) return null;
                    options = options with { ServerPid = pid };
                    break;
                case "--url":
                    if (!OptionValues.TryHttpUrl(value, out var url, ref error, name)) return null;

                    options = options with { BaseUrl = url };
                    break;
                case "--database" when value.Length > 0:
                    options = options with { DatabaseConnectionString = value };
                    break;
                case "--data-dir" when value.Length > 0:
                    options = options with { DataDirectory = Path.GetFullPath(value) };
                    break;
                case "--log-statements-over":
                    if (!OptionValues.TryInt(value, 0, 3_600_000, out var ms, ref error, name)) return null;
                    options = options with { LogStatementsOverMs = ms };
                    break;
                case "--run-timeout":
                    if (!OptionValues.TryInt(value, 1, 86_400, out var seconds, ref error, name)) return null;
                    options = options with { RunTimeout = TimeSpan.FromSeconds(seconds) };
                    break;
                case "--goal-seconds":
                    if (!OptionValues.TryInt(value, 1, 86_400, out var goalSeconds, ref error, name)) return null;
                    options = options with { GoalSeconds = goalSeconds };
                    break;
                case "--goal-rss-mb":
                    if (!OptionValues.TryInt(value, 1, 1_000_000, out var goalMb, ref error, name)) return null;
                    options = options with { GoalRssGrowthMb = goalMb };
                    break;
                case "--operator-key" when value.Length > 0:
                    options = options with { OperatorKey = value };
                    break;
                default:
                    error = $"unknown option (with --reconciliation) or empty value: {name} '{value}'";
                    return null;
            }
        }

        if (options.ServerPid is null && (options.BaseUrl is not null || options.DatabaseConnectionString is not null))
        {
            // The bench's own server listens on free ports and has its own database: say so rather than ignore the option.
            error = "--url and --database describe a running server: they need --server-pid";
            return null;
        }

        return options;
    }
}
