using System.Net.Sockets;
using Npgsql;

namespace Payments.Server.Hosting;

/// <summary>
/// Tells a database that cannot be reached (stopped, restarting, refusing connections, out of connections) from a fault of
/// ours: it is no bug of the request, which the client may send again with its key once the database is back.
/// </summary>
public static class DatabaseFailures
{
    public static bool IsUnavailable(Exception? error) => error switch
    {
        null => false,
        // Connection refused or reset, the server shutting down or starting up, too many connections, and the like.
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal) || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("53", StringComparison.Ordinal),
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        // A grain's storage failure crosses the gateway as Orleans' stand-in when the exception type is not known there.
        Orleans.Serialization.UnavailableExceptionFallbackException fallback => fallback.ExceptionType?.StartsWith("Npgsql.", StringComparison.Ordinal) == true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsUnavailable),
        _ => IsUnavailable(error.InnerException),
    };
}
