using System.Globalization;

namespace Payments.LoadTest;

/// <summary>
/// Samples a process's resident set (VmRSS of <c>/proc/&lt;pid&gt;/status</c>) at a fixed period in the background and
/// keeps the peak; <see cref="Read"/> reads it (and the kernel's own high-water mark, VmHWM) once.
/// </summary>
internal sealed class RssSampler(int pid, TimeSpan period) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public long PeakKb { get; private set; }

    public int Samples { get; private set; }

    /// <summary>VmRSS and VmHWM in kB; null when the process is gone.</summary>
    public (long RssKb, long HighWaterKb)? Read()
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid}/status");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        long rss = -1, hwm = -1;
        foreach (var line in lines)
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = Kilobytes(line);
            }
        }

        return rss < 0 ? null : (rss, hwm);
    }

    public void Start()
    {
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(period);
            do
            {
                if (Read() is { } sample)
                {
                    Samples++;
                    PeakKb = Math.Max(PeakKb, sample.RssKb);
                }
            }
            while (await WaitAsync(timer));
        });
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>"VmRSS:\t  123456 kB" → 123456.</summary>
    private static long Kilobytes(string line)
    {
        var value = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        var space = value.IndexOf(' ', StringComparison.Ordinal);
        return long.Parse(space < 0 ? value : value[..space], NumberStyles.None, CultureInfo.InvariantCulture);
    }
}
