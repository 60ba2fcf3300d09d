using System.Globalization;

namespace Payments.LoadTest;

/// <summary>
/// Whether the server's memory stays flat under a long run: its VmRSS read when the measured orders done pass N1 and
/// then N2 (<c>--rss-at</c>). Past N1 the caches and pools should have reached their size, so growth between the two
/// readings is memory kept per order (a leak), not warm-up. Also reads it before and after, for runs too short for N2.
/// </summary>
internal sealed class RssMilestones : IAsyncDisposable
{
    /// <summary>The default readings: a third of the way and at the end of a 300k-order run.</summary>
    public static readonly long[] DefaultAt = [100_000, 300_000];

    /// <summary>The bound on the change between the two readings, either way.</summary>
    public const double FlatPercentMax = 10;

    private readonly RssSampler _sampler;
    private readonly int _ordersPerCheckout;
    private readonly long[] _at;
    private readonly long[] _rssKb;
    private readonly int[] _taken;
    private long _ordersDone;

    private RssMilestones(int pid, int ordersPerCheckout, long[] at)
    {
        // Only Read() is used, at chosen moments: the sampler's own timer is never started.
        _sampler = new RssSampler(pid, TimeSpan.FromSeconds(1));
        _ordersPerCheckout = ordersPerCheckout;
        _at = at;
        _rssKb = new long[at.Length];
        _taken = new int[at.Length];
        Pid = pid;
    }

    public int Pid { get; }

    public long? BeforeKb { get; private set; }

    public long? AfterKb { get; private set; }

    /// <summary>
    /// The readings for a run with <c>--server-pid</c>; null without it. Without <c>--rss-at</c> the defaults apply only to
    /// a run with enough orders to reach them; a shorter run then reads before and after only.
    /// </summary>
    public static RssMilestones? FromOptions(LoadTestOptions options)
    {
        if (options.ServerPid is not { } pid)
        {
            return null;
        }

        var orders = (long)options.Checkouts * options.OrdersPerCheckout;
        var at = options.RssAt ?? (orders >= DefaultAt[^1] ? DefaultAt : []);
        return new RssMilestones(pid, options.OrdersPerCheckout, at);
    }

    public void ReadBefore() => BeforeKb = _sampler.Read()?.RssKb;

    public void ReadAfter() => AfterKb = _sampler.Read()?.RssKb;

    /// <summary>Counts one checkout's orders done and reads the RSS the first time the count passes a reading's point.</summary>
    public void CheckoutDone()
    {
        var done = Interlocked.Add(ref _ordersDone, _ordersPerCheckout);
        for (var i = 0; i < _at.Length; i++)
        {
            // Exactly one worker takes each reading: the one whose checkout carried the count past its point first.
            if (done >= _at[i] && Interlocked.CompareExchange(ref _taken[i], 1, 0) == 0)
            {
                _rssKb[i] = _sampler.Read()?.RssKb ?? -1;
            }
        }
    }

    /// <summary>True when the run has two readings to compare (asked for, or the defaults and a run long enough).</summary>
    public bool ReadsFlatness => _at.Length == 2;

    /// <summary>The change between the two readings in percent; null unless both were taken.</summary>
    public double? ChangePercent =>
        _at.Length == 2 && _rssKb[0] > 0 && _rssKb[1] > 0 ? (_rssKb[1] - _rssKb[0]) * 100.0 / _rssKb[0] : null;

    public void Print(long measuredOrders)
    {
        Console.WriteLine($"server RSS:         pid {Pid}: {Mb(BeforeKb)} before the measured checkouts, {Mb(AfterKb)} after");
        if (_at.Length == 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"server RSS flat:    not measured (a run of {measuredOrders} orders; the default --rss-at {DefaultAt[0]},{DefaultAt[1]} needs {DefaultAt[^1]}, or give --rss-at)"));
            return;
        }

        var readings = string.Join(", ", _at.Select((at, i) => $"{Mb(_taken[i] == 1 && _rssKb[i] > 0 ? _rssKb[i] : null)} at {at} orders"));
        Console.WriteLine(ChangePercent is { } change
            ? string.Create(CultureInfo.InvariantCulture, $"server RSS flat:    {readings}: {change:+0.0;-0.0;0.0} % (target within +-{FlatPercentMax:F0} %)")
            : $"server RSS flat:    {readings}: not measured (the run did not reach both, or the process was gone)");
    }

    public ValueTask DisposeAsync() => _sampler.DisposeAsync();

    private static string Mb(long? kb) => kb is { } value ? string.Create(CultureInfo.InvariantCulture, $"{value / 1024.0:F1} MB") : "?";
}
