using System.Diagnostics;
using System.Globalization;

namespace Payments.LoadTest;

/// <summary>
/// Who used the machine's CPUs during a measurement (from <c>/proc</c>): the server process, its PostgreSQL (the
/// postmaster, its live children, and the children it reaped), this bench, and everything else. On a small machine shared
/// with builds and tests, "everything else" says whether a figure is the system's or the neighbours'.
/// </summary>
internal sealed class CpuAccount
{
    private readonly int _serverPid;
    private readonly int? _postmasterPid;
    private readonly double _ticksPerSecond;
    private readonly Snapshot _start;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private CpuAccount(int serverPid, int? postmasterPid, double ticksPerSecond)
    {
        _serverPid = serverPid;
        _postmasterPid = postmasterPid;
        _ticksPerSecond = ticksPerSecond;
        _start = Take();
    }

    public static CpuAccount Start(int serverPid, string? dataDirectory)
    {
        int? postmaster = null;
        var pidFile = dataDirectory is null ? null : Path.Combine(dataDirectory, "postgres", "postmaster.pid");
        if (pidFile is not null && File.Exists(pidFile)
            && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            postmaster = pid;
        }

        return new CpuAccount(serverPid, postmaster, TicksPerSecond());
    }

    /// <summary>One line: core-seconds of each party since <see cref="Start"/>, and the machine's load average now.</summary>
    public string Summary()
    {
        var end = Take();
        var wall = _clock.Elapsed.TotalSeconds;
        double Seconds(long ticks) => ticks / _ticksPerSecond;
        var busy = Seconds(end.MachineBusy - _start.MachineBusy);
        var server = Seconds(end.Server - _start.Server);
        var postgres = Seconds(end.Postgres - _start.Postgres);
        var bench = Seconds(end.Bench - _start.Bench);
        var others = Math.Max(0, busy - server - postgres - bench);
        return string.Create(CultureInfo.InvariantCulture,
            $"{wall:F1} s on {Environment.ProcessorCount} cores ({wall * Environment.ProcessorCount:F1} core-s): busy {busy:F1} core-s = server {server:F1}"
            + $" + PostgreSQL {(_postmasterPid is null ? "?" : postgres.ToString("F1", CultureInfo.InvariantCulture))} + bench {bench:F1}"
            + $" + other processes {others:F1}; load average {LoadAverage()}");
    }

    /// <summary>
    /// The server's and PostgreSQL's CPU per order since <see cref="Start"/>: what bounds the rate on a machine of its
    /// own (cores × 1000 ms ÷ both), however busy the neighbours are during the run.
    /// </summary>
    public string PerOrder(long orders)
    {
        var end = Take();
        double Milliseconds(long ticks) => ticks / _ticksPerSecond * 1000 / Math.Max(1, orders);
        var server = Milliseconds(end.Server - _start.Server);
        var postgres = Milliseconds(end.Postgres - _start.Postgres);
        var bound = Environment.ProcessorCount * 1000 / Math.Max(0.001, server + (_postmasterPid is null ? 0 : postgres));
        return string.Create(CultureInfo.InvariantCulture,
            $"server {server:F2} ms + PostgreSQL {(_postmasterPid is null ? "?" : postgres.ToString("F2", CultureInfo.InvariantCulture))} ms"
            + $" (bound on {Environment.ProcessorCount} idle cores: {bound:F0} orders/s)");
    }

    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private Snapshot Take() => new(MachineBusyTicks(), ProcessTicks(_serverPid, children: false), PostgresTicks(), ProcessTicks(Environment.ProcessId, children: false));

    /// <summary>The first line of /proc/stat: every CPU's ticks but idle and iowait.</summary>
    private static long MachineBusyTicks()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long busy = 0;
        for (var i = 1; i < fields.Length && i <= 8; i++)
        {
            if (i is not (4 or 5))
            {
                busy += long.Parse(fields[i], CultureInfo.InvariantCulture);
            }
        }

        return busy;
    }

    /// <summary>The postmaster's own and reaped children's ticks, plus its live children's.</summary>
    private long PostgresTicks()
    {
        if (_postmasterPid is not { } postmaster)
        {
            return 0;
        }

        var total = ProcessTicks(postmaster, children: true);
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && Stat(pid) is { } stat && stat.ParentPid == postmaster)
            {
                total += stat.UserTicks + stat.SystemTicks;
            }
        }

        return total;
    }

    private static long ProcessTicks(int pid, bool children) =>
        Stat(pid) is { } stat ? stat.UserTicks + stat.SystemTicks + (children ? stat.ChildUserTicks + stat.ChildSystemTicks : 0) : 0;

    /// <summary>/proc/&lt;pid&gt;/stat: fields after the command name (which may hold spaces) are counted from its closing parenthesis.</summary>
    private static (int ParentPid, long UserTicks, long SystemTicks, long ChildUserTicks, long ChildSystemTicks)? Stat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // After ")": state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
        var rest = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        long Field(int number) => long.Parse(rest[number - 3], CultureInfo.InvariantCulture);
        return ((int)Field(4), Field(14), Field(15), Field(16), Field(17));
    }

    private static double TicksPerSecond()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false });
            if (getconf is not null && double.TryParse(getconf.StandardOutput.ReadToEnd().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ticks) && ticks > 0)
            {
                getconf.WaitForExit();
                return ticks;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No getconf: Linux's USER_HZ is 100 everywhere that matters.
        }

        return 100;
    }

    private sealed record Snapshot(long MachineBusy, long Server, long Postgres, long Bench);
}
