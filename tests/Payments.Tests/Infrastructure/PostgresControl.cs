using System.Diagnostics;
using Payments.Database;

namespace Payments.Tests.Infrastructure;

/// <summary>Stops and starts again the private PostgreSQL of a data directory under a running server, as an outage would.</summary>
internal static class PostgresControl
{
    public static Task StopAsync(string dataDirectory) => PgCtlAsync(dataDirectory, "stop", "-m", "fast", "-w");

    /// <summary>Starts it again with the options it last ran with (same port), which <c>pg_ctl restart</c> keeps in postmaster.opts.</summary>
    public static Task StartAgainAsync(string dataDirectory) => PgCtlAsync(dataDirectory, "restart", "-w");

    private static async Task PgCtlAsync(string dataDirectory, params string[] arguments)
    {
        var cluster = Path.Combine(dataDirectory, "postgres");
        var pgCtl = PostgresBinaries.Locate().PgCtl;
        // As root the cluster belongs to the unprivileged user the server was started as (PostgreSQL refuses root).
        var startInfo = new ProcessStartInfo(Environment.IsPrivilegedProcess ? "runuser" : pgCtl)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (Environment.IsPrivilegedProcess ? ["-u", "nobody", "--", pgCtl] : Array.Empty<string>()).Concat(arguments).Concat(["-D", cluster]))
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not run pg_ctl");
        // The restarted server inherits the pipes: wait for pg_ctl itself, not for the end of its output.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_ctl {string.Join(' ', arguments)} exited with {process.ExitCode}");
        }
    }
}
