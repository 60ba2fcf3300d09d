namespace Payments.Server.Cluster;

/// <summary>
/// Tells the gateway's calls in flight that a silo has probably just died (a gateway connection closed, a call was refused):
/// a call that went to it (directly or through a gateway that forwarded it) will get no answer until it times out. Each
/// sign ends the current token and starts the next, so a call watches the token it saw when it set out.
/// </summary>
internal sealed class ClusterFailureSignal
{
    private CancellationTokenSource _current = new();

    public CancellationToken Current => Volatile.Read(ref _current).Token;

    public void Raise()
    {
        var ended = Interlocked.Exchange(ref _current, new CancellationTokenSource());
        // Off this thread: the calls that watch the token react in their own time, not inside the failing call.
        _ = ended.CancelAsync();
    }
}
