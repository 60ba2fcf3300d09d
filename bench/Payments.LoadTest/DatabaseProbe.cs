using Npgsql;

namespace Payments.LoadTest;

/// <summary>
/// The pay-in bench's look into the server's PostgreSQL: where it is (<c>--database</c>, or the private server found
/// through <c>--data-dir</c>), its version, and how many transactions it has committed in the payments database.
/// </summary>
internal sealed class DatabaseProbe
{
    /// <summary>
    /// How long to wait before reading the commit count. PostgreSQL (15+) backends flush their statistics to the shared
    /// counters at most once a second, and one that goes idle with counts not yet flushed holds them for up to 10 s:
    /// read sooner and the server's pooled, now idle connections still hold the last second of the phase just ended.
    /// </summary>
    public static readonly TimeSpan StatisticsFlushWait = TimeSpan.FromSeconds(11);

    private DatabaseProbe(string connectionString, string source)
    {
        // No pool: the bench opens a handful of connections in a run, and a pooled idle one would sit on the server for nothing.
        ConnectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, CommandTimeout = 60 }.ConnectionString;
        Source = source;
    }

    public string ConnectionString { get; }

    /// <summary>How the database was found, for the output.</summary>
    public string Source { get; }

    /// <summary>
    /// The probe the options ask for: null without <c>--database</c> and <c>--data-dir</c> (no error), or with an error when
    /// the data directory holds no running PostgreSQL (a wrong directory should not quietly measure nothing).
    /// </summary>
    public static DatabaseProbe? FromOptions(LoadTestOptions options, out string? error)
    {
        error = null;
        if (options.DatabaseConnectionString is { } given)
        {
            try
            {
                return new DatabaseProbe(given, "--database");
            }
            catch (ArgumentException ex)
            {
                error = $"--database is not a valid connection string: {ex.Message}";
                return null;
            }
        }

        if (options.DataDirectory is { } dataDirectory)
        {
            // postmaster.pid's 4th line is the port; host 127.0.0.1, user postgres, database payments, as the server runs it.
            if (BenchServer.PrivatePostgresConnectionString(dataDirectory) is { } found)
            {
                return new DatabaseProbe(found, $"{dataDirectory}/postgres/postmaster.pid");
            }

            error = $"--data-dir {dataDirectory}: no running PostgreSQL in {dataDirectory}/postgres (postmaster.pid)";
        }

        return null;
    }

    /// <summary>The server's <c>server_version</c>, e.g. "15.10 (Debian 15.10-0+deb12u1)".</summary>
    public async Task<string> ServerVersionAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SHOW server_version", connection);
        return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Transactions committed in this database so far, read once everything before has reached the counters
    /// (<see cref="StatisticsFlushWait"/>). Each read is a transaction of its own too: one per read, not worth subtracting.
    /// </summary>
    public async Task<long> CommitsAsync(CancellationToken cancellationToken = default)
    {
        await Task.Delay(StatisticsFlushWait, cancellationToken);
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", connection);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
