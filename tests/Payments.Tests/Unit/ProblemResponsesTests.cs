using Orleans.Runtime;
using Payments.Server.Hosting;

namespace Payments.Tests.Unit;

/// <summary>An error no endpoint handled: the cluster briefly unavailable is a 503 to retry, anything else a 500.</summary>
public sealed class ProblemResponsesTests
{
    public static TheoryData<Exception> ClusterErrors() =>
    [
        new Orleans.Runtime.Messaging.ConnectionFailedException("connection refused by the silo"),
        new SiloUnavailableException("the silo is gone"),
        new TimeoutException("the grain call timed out"),
        new AggregateException(new InvalidOperationException("first"), new SiloUnavailableException("second")),
        new InvalidOperationException("wrapped", new Orleans.Runtime.Messaging.ConnectionFailedException("connection refused by the silo")),
    ];

    [Theory]
    [MemberData(nameof(ClusterErrors))]
    public void A_silo_that_died_or_a_grain_call_that_timed_out_is_a_503(Exception error) =>
        Assert.Equal((503, "cluster_unavailable"), Code(error));

    [Fact]
    public void Any_other_fault_is_a_500() =>
        Assert.Equal((500, "internal_error"), Code(new InvalidOperationException("a bug")));

    private static (int, string) Code(Exception error)
    {
        var (status, code, _) = ProblemResponses.Classify(error);
        return (status, code);
    }
}
