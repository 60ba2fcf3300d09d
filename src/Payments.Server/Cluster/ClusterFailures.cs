using Orleans.Runtime.Messaging;

namespace Payments.Server.Cluster;

/// <summary>
/// Tells the exceptions Orleans raises when a silo dies or a call goes unanswered from the grains' own: a dead silo's refused
/// connection, a message rejected because it could not be delivered or expired on its way, a call whose silo died while it
/// ran, a response timeout.
/// None of them says whether the grain did the work; only a retry of a call that is safe to repeat can find out.
/// </summary>
public static class ClusterFailures
{
    public static bool IsClusterFailure(Exception? error) => error switch
    {
        null => false,
        OrleansMessageRejectionException or SiloUnavailableException or ConnectionFailedException or TimeoutException => true,
        // A gateway or an activation shedding load, and a storage write that lost its ETag race to another activation (the
        // grain drops this activation; the next call meets the one that owns the grain): all pass when asked again.
        GatewayTooBusyException or LimitExceededException or Orleans.Storage.InconsistentStateException => true,
        // Orleans cancels a message that expired on its way, e.g. while its grain's placement waited on a dead silo's
        // directory partition. Our grain calls take no cancellation token, so a cancelled call is always Orleans' doing.
        OperationCanceledException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsClusterFailure),
        // A grain whose own call to another grain failed for cluster reasons rethrows that failure, sometimes wrapped.
        _ => IsClusterFailure(error.InnerException),
    };

    /// <summary>
    /// A failure that says a silo is gone right now (refused, or failed while the call was out), rather than a call that
    /// timed out, which may be the late echo of a death already dealt with.
    /// </summary>
    public static bool IsSiloLost(Exception? error) => error switch
    {
        null => false,
        OrleansMessageRejectionException or SiloUnavailableException or ConnectionFailedException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsSiloLost),
        _ => IsSiloLost(error.InnerException),
    };
}
