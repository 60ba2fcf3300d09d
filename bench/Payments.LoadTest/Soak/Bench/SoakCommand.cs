namespace Payments.LoadTest.Soak;

/// <summary><c>--soak-minutes N</c>: the chaos soak against the cluster <c>soak-cluster.sh</c> runs; exit 0 only if every check passed.</summary>
internal static class SoakCommand
{
    public const string Usage = """
        Usage: Payments.LoadTest --soak-minutes N --soak-cluster DIR [options]   (soak-cluster.sh passes the cluster's options)
          --soak-minutes N         minutes of workload under chaos, 1..1440
          --soak-cluster DIR       the folder soak-cluster.sh prints: silo-N.pid and silo-N.url of each silo
          --url URL                the gateway                     (default http://127.0.0.1:15080)
          --psp-url URL            the PSP simulator               (default http://127.0.0.1:15090)
          --soak-workers W         buyers at once, 1..256          (default 6)
          --soak-sellers S         sellers, 1..10000               (default 12)
          --kill-every S           seconds between silo kills      (default 20)
          --settle-minutes M       longest settle, 1..120          (default 4)
          --seed N                 the fault windows' seeds start here (default 1)
          --api-key, --operator-key as for the pay-in bench
        Checkouts (card, declined, 3-D Secure, hosted page, processing, the simulator's failing tokens), refunds, fulfillments and
        payouts, with a webhook endpoint registered, under PSP fault windows and a silo SIGKILLed (and restarted) every S seconds;
        then faults off, a bounded settle, and the checks. Prints one line:
          soak: orders=… succeeded=… failed=… refunds=… payouts=… faults=… kills=… double_charges=0 lost=0 unbalanced=0 stuck=0 …
        Exit code: 0 if no double charge or payout, nothing lost, the invariants hold, nothing stuck and every webhook owed was
        delivered; 1 otherwise; 2 for bad arguments.
        """;

    public static bool IsRequested(string[] args) => args.Contains("--soak-minutes");

    public static async Task<int> RunAsync(string[] args)
    {
        if (Parse(args, out var error) is not var (endpoints, settings, folder))
        {
            await Console.Error.WriteLineAsync($"error: {error}\n{Usage}");
            return 2;
        }

        var report = await SoakRun.RunAsync(new ScriptedSoakCluster(folder), endpoints, settings, Console.WriteLine);
        Console.WriteLine($"result: {(report.Passed ? "PASS" : "FAIL")}");
        return report.Passed ? 0 : 1;
    }

    private static (SoakEndpoints, SoakSettings, string)? Parse(string[] args, out string? error)
    {
        error = null;
        var (gateway, psp) = (new Uri("http://127.0.0.1:15080"), new Uri("http://127.0.0.1:15090"));
        var (merchantKey, operatorKey) = ("sk_test_demo_merchant", "sk_test_demo_operator");
        var settings = new SoakSettings(TimeSpan.Zero);
        string? folder = null;
        for (var i = 0; i < args.Length; i += 2)
        {
            var (name, value) = (args[i], i + 1 < args.Length ? args[i + 1] : null);
            if (value is null)
            {
                error = $"missing value for {name}";
                return null;
            }

            int number;
            var ok = name switch
            {
                "--soak-minutes" => OptionValues.TryInt(value, 1, 1440, out number, ref error, name) && Set(ref settings, settings with { Duration = TimeSpan.FromMinutes(number) }),
                "--soak-workers" => OptionValues.TryInt(value, 1, 256, out number, ref error, name) && Set(ref settings, settings with { Workers = number }),
                "--soak-sellers" => OptionValues.TryInt(value, 1, 10_000, out number, ref error, name) && Set(ref settings, settings with { Sellers = number }),
                "--kill-every" => OptionValues.TryInt(value, 1, 3600, out number, ref error, name) && Set(ref settings, settings with { KillEvery = TimeSpan.FromSeconds(number) }),
                "--settle-minutes" => OptionValues.TryInt(value, 1, 120, out number, ref error, name) && Set(ref settings, settings with { SettleTimeout = TimeSpan.FromMinutes(number) }),
                "--seed" => OptionValues.TryInt(value, 0, int.MaxValue / 2, out number, ref error, name) && Set(ref settings, settings with { Seed = number }),
                "--url" => OptionValues.TryHttpUrl(value, out gateway, ref error, name),
                "--psp-url" => OptionValues.TryHttpUrl(value, out psp, ref error, name),
                "--soak-cluster" => Directory.Exists(folder = value) || Fail(out error, $"--soak-cluster: no folder {value}"),
                "--api-key" => (merchantKey = value).Length > 0 || Fail(out error, "--api-key is empty"),
                "--operator-key" => (operatorKey = value).Length > 0 || Fail(out error, "--operator-key is empty"),
                _ => Fail(out error, $"unknown option {name}"),
            };
            if (!ok)
            {
                return null;
            }
        }

        if (folder is null)
        {
            error = "--soak-cluster is required (soak-cluster.sh prints it and passes it)";
            return null;
        }

        return (new SoakEndpoints(gateway, psp, merchantKey, operatorKey), settings, folder);
    }

    private static bool Set(ref SoakSettings settings, SoakSettings value)
    {
        settings = value;
        return true;
    }

    private static bool Fail(out string? error, string message)
    {
        error = message;
        return false;
    }
}
