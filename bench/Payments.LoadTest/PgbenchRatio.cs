using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Payments.LoadTest;

/// <summary>
/// What the PostgreSQL server under the bench can do on its own: <c>pgbench -N</c> (TPC-B-like, without the branch and
/// teller updates that would make every client wait on the same rows) on the same server, in a database of its own. Orders/s
/// divided by its tps is a figure that travels between machines, where orders/s alone mostly measures the machine.
/// </summary>
internal static class PgbenchRatio
{
    public const int SecondsDefault = 15;

    /// <summary>The database pgbench gets on the payments server: its tables must not touch ours.</summary>
    public const string DatabaseName = "pgbench_ratio";

    /// <summary>Scale 10: a million accounts, enough that 16 clients rarely update the same row.</summary>
    public const int Scale = 10;

    public const int Clients = 16;

    public const int Threads = 2;

    private static readonly string[] Tables = ["pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history"];

    /// <summary>The tps pgbench measured, or null with the reason printed (a failed pgbench is a missing figure, not a failed run).</summary>
    public static async Task<double?> RunAsync(string paymentsConnectionString, int seconds, CancellationToken cancellationToken = default)
    {
        var pgbench = Locate();
        if (pgbench is null)
        {
            Console.WriteLine("pgbench -N tps: not measured (no pgbench on PATH or in /usr/lib/postgresql/*/bin)");
            return null;
        }

        var target = new NpgsqlConnectionStringBuilder(paymentsConnectionString) { Database = DatabaseName, Pooling = false };
        try
        {
            if (!await EnsureTablesAsync(target, cancellationToken))
            {
                Console.WriteLine($"pgbench:            initializing database {DatabaseName} (-i -s {Scale}), once for this server");
                var clock = Stopwatch.StartNew();
                var init = await RunPgbenchAsync(pgbench, target, ["-i", "-q", "-s", Scale.ToString(CultureInfo.InvariantCulture)],
                    TimeSpan.FromMinutes(10), cancellationToken);
                if (init.ExitCode != 0)
                {
                    Console.WriteLine($"pgbench -N tps: not measured (pgbench -i exited with {init.ExitCode}: {ConcurrentRequests.Truncate(init.Output.Trim())})");
                    return null;
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pgbench:            initialized in {clock.Elapsed.TotalSeconds:F1} s"));
            }
        }
        catch (NpgsqlException ex)
        {
            Console.WriteLine($"pgbench -N tps: not measured (preparing {DatabaseName}: {ex.Message})");
            return null;
        }

        string[] run =
        [
            "-N", "-c", Clients.ToString(CultureInfo.InvariantCulture), "-j", Threads.ToString(CultureInfo.InvariantCulture),
            "-T", seconds.ToString(CultureInfo.InvariantCulture),
        ];
        var result = await RunPgbenchAsync(pgbench, target, run, TimeSpan.FromSeconds(seconds + 120), cancellationToken);
        var tps = result.ExitCode == 0 ? ParseTps(result.Output) : null;
        if (tps is null)
        {
            Console.WriteLine($"pgbench -N tps: not measured (pgbench exited with {result.ExitCode}: {ConcurrentRequests.Truncate(result.Output.Trim())})");
            return null;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pgbench -N tps: {tps:F1} ({Clients} clients, {Threads} threads, {seconds} s, scale {Scale}, database {DatabaseName}, {pgbench})"));
        return tps;
    }

    /// <summary>
    /// The tps of pgbench's report. Older versions print it twice, including and excluding connection setup: the one
    /// excluding it is the figure (the bench's own connections are pooled, so its orders/s carry no setup either).
    /// Newer ones print one line, "(without initial connection time)".
    /// </summary>
    public static double? ParseTps(string output)
    {
        double? any = null;
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            if (!line.StartsWith("tps = ", StringComparison.Ordinal))
            {
                continue;
            }

            var number = line["tps = ".Length..];
            var end = number.IndexOf(' ', StringComparison.Ordinal);
            if (!double.TryParse(end < 0 ? number : number[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out var tps))
            {
                continue;
            }

            if (line.Contains("excluding", StringComparison.Ordinal) || line.Contains("without", StringComparison.Ordinal))
            {
                return tps;
            }

            if (!line.Contains("including", StringComparison.Ordinal))
            {
                any ??= tps;
            }
        }

        return any;
    }

    /// <summary>pgbench on PATH, else the newest under /usr/lib/postgresql (Debian's layout); null when there is none.</summary>
    private static string? Locate()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "pgbench");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Directory.Exists("/usr/lib/postgresql")
            ? Directory.EnumerateDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin", "pgbench"))
                .Where(File.Exists)
                .OrderByDescending(p => int.TryParse(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(p))), NumberStyles.None,
                    CultureInfo.InvariantCulture, out var major) ? major : 0)
                .FirstOrDefault()
            : null;
    }

    /// <summary>Makes the database if missing; true when pgbench's four tables are already there (so no -i, which drops them).</summary>
    private static async Task<bool> EnsureTablesAsync(NpgsqlConnectionStringBuilder target, CancellationToken cancellationToken)
    {
        var admin = new NpgsqlConnectionStringBuilder(target.ConnectionString) { Database = "postgres" };
        await using (var connection = new NpgsqlConnection(admin.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
            exists.Parameters.Add(new NpgsqlParameter { Value = DatabaseName });
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                // The name is our constant, not input: nothing to quote.
                await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName}", connection);
                await create.ExecuteNonQueryAsync(cancellationToken);
                return false;
            }
        }

        await using (var connection = new NpgsqlConnection(target.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var count = new NpgsqlCommand(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY($1)", connection);
            count.Parameters.Add(new NpgsqlParameter { Value = Tables });
            return (long)(await count.ExecuteScalarAsync(cancellationToken))! == Tables.Length;
        }
    }

    /// <summary>Runs pgbench against <paramref name="target"/> (host, port, user from the connection string) to its end.</summary>
    private static async Task<(int ExitCode, string Output)> RunPgbenchAsync(
        string pgbench, NpgsqlConnectionStringBuilder target, string[] arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo
        {
            FileName = pgbench,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (flag, value) in new[] { ("-h", target.Host), ("-p", target.Port.ToString(CultureInfo.InvariantCulture)), ("-U", target.Username) })
        {
            if (!string.IsNullOrEmpty(value))
            {
                start.ArgumentList.Add(flag);
                start.ArgumentList.Add(value);
            }
        }

        start.ArgumentList.Add(DatabaseName);
        if (!string.IsNullOrEmpty(target.Password))
        {
            // The environment, not the command line: other users can read a process's arguments.
            start.Environment["PGPASSWORD"] = target.Password;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {pgbench}");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var errors = process.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
            return (process.ExitCode, await output + await errors);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"did not finish within {timeout.TotalSeconds:F0} s");
        }
    }
}
