using System.Diagnostics;
using System.Globalization;

namespace Payments.LoadTest.Soak;

/// <summary>
/// The cluster <c>soak-cluster.sh</c> runs: each silo under a loop that starts it again whenever it exits, writing its pid
/// to <c>silo-N.pid</c> and its API address to <c>silo-N.url</c> in the cluster's folder. A kill is a SIGKILL of the pid
/// in the file; "started again" is a new pid there whose health answers ready.
/// </summary>
internal sealed class ScriptedSoakCluster : ISoakCluster
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(2);
    private readonly string _folder;
    private readonly int?[] _killed;
    private readonly HttpClient _health = new() { Timeout = TimeSpan.FromSeconds(2) };

    public ScriptedSoakCluster(string folder)
    {
        _folder = folder;
        Silos = Enumerable.Range(1, 64).TakeWhile(n => File.Exists(PidFile(n - 1))).Count();
        if (Silos == 0)
        {
            throw new InvalidOperationException($"no silo-1.pid in {folder}: is soak-cluster.sh running?");
        }

        _killed = new int?[Silos];
    }

    public int Silos { get; }

    public Task KillSiloAsync(int index)
    {
        var pid = ReadPid(index) ?? throw new InvalidOperationException($"silo {index + 1} has no pid in {PidFile(index)}");
        using var process = Process.GetProcessById(pid);
        // Process.Kill is SIGKILL on Unix: no shutdown, as a crash.
        process.Kill(entireProcessTree: false);
        _killed[index] = pid;
        return Task.CompletedTask;
    }

    public async Task StartSiloAsync(int index)
    {
        var url = new Uri(new Uri((await File.ReadAllTextAsync(Path.Combine(_folder, $"silo-{index + 1}.url"))).Trim()), "/health/ready");
        var clock = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            if (ReadPid(index) is { } pid && pid != _killed[index] && await IsReadyAsync(url))
            {
                return;
            }

            if (clock.Elapsed > ReadyTimeout)
            {
                throw new TimeoutException($"silo {index + 1} was not ready again {ReadyTimeout.TotalSeconds:F0} s after its kill ({url})");
            }

            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 500));
        }
    }

    private async Task<bool> IsReadyAsync(Uri url)
    {
        try
        {
            using var response = await _health.GetAsync(url);
            return response.IsSuccessStatusCode;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private string PidFile(int index) => Path.Combine(_folder, $"silo-{index + 1}.pid");

    private int? ReadPid(int index)
    {
        try
        {
            return int.TryParse(File.ReadAllText(PidFile(index)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            // Being rewritten by the script's loop: read it again on the next look.
            return null;
        }
    }
}
