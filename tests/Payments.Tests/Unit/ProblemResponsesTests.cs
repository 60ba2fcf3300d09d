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

    public static TheoryData<Exception> DatabaseOutages() =>
    [
        new Npgsql.NpgsqlException("Failed to connect to 127.0.0.1:5432", new System.Net.Sockets.SocketException(111)),
        new Npgsql.PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", "57P01"),
        new Npgsql.PostgresException("the database system is starting up", "FATAL", "FATAL", "57P03"),
        new Npgsql.PostgresException("sorry, too many clients already", "FATAL", "FATAL", "53300"),
        new InvalidOperationException("grain storage failed", new Npgsql.NpgsqlException("Exception while reading from stream", new IOException("reset"))),
    ];

    [Theory]
    [MemberData(nameof(DatabaseOutages))]
    public void A_database_that_cannot_be_reached_is_a_503_service_unavailable(Exception error) =>
        Assert.Equal((503, "service_unavailable"), Code(error));

    [Fact]
    public void A_query_the_database_refuses_is_still_our_fault() =>
        Assert.Equal((500, "internal_error"), Code(new Npgsql.PostgresException("duplicate key value", "ERROR", "ERROR", "23505")));

    [Fact]
    public void Any_other_fault_is_a_500() =>
        Assert.Equal((500, "internal_error"), Code(new InvalidOperationException("a bug")));

    private static (int, string) Code(Exception error)
    {
        var (status, code, _) = ProblemResponses.Classify(error);
        return (status, code);
    }
}
