using Microsoft.Extensions.Logging;
using Npgsql;

namespace Payments.Database;

/// <summary>
/// The database the server and the tests use: the configured one, or else a private PostgreSQL in the data
/// directory. Either way the schema is brought up to date before anything else touches it.
/// </summary>
public sealed class PaymentsDatabase : IAsyncDisposable
{
    public const string ConnectionStringName = "Payments";
    public const string DataDirectoryVariable = "PAYMENTS_DATA_DIR";

    private readonly LocalPostgres? _localServer;

    private PaymentsDatabase(string connectionString, LocalPostgres? localServer)
    {
        ConnectionString = Tuned(connectionString);
        _localServer = localServer;
        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>True when this process runs its own PostgreSQL (and stops it on dispose).</summary>
    public bool IsLocalServer => _localServer is not null;

    public static async Task<PaymentsDatabase> OpenAsync(string? configuredConnectionString, string dataDirectory, bool durable, ILogger logger, CancellationToken cancellationToken)
    {
        LocalPostgres? localServer = null;
        var connectionString = configuredConnectionString;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            localServer = await LocalPostgres.StartAsync(dataDirectory, durable, logger, cancellationToken);
            connectionString = localServer.ConnectionString;
        }

        var database = new PaymentsDatabase(connectionString, localServer);
        try
        {
            await SchemaMigrator.ApplyAsync(database.DataSource, logger, cancellationToken);
            return database;
        }
        catch
        {
            await database.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The connection string with what the payment paths want unless it says otherwise. No reset on close: Npgsql would
    /// otherwise send DISCARD ALL each time a pooled connection is taken again, a transaction of its own that was half
    /// of all commits per order (21 of 42 in the bench); nothing here keeps session state past its own use (temporary
    /// tables drop on commit, the migration lock is released). Auto-prepare: the same few statements run for every
    /// order, and kept connections can keep their plans.
    /// </summary>
    public static string Tuned(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var given = connectionString.Replace(" ", string.Empty, StringComparison.Ordinal);
        if (!given.Contains("NoResetOnClose", StringComparison.OrdinalIgnoreCase))
        {
            builder.NoResetOnClose = true;
        }

        if (!given.Contains("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 64;
        }

        return builder.ConnectionString;
    }

    /// <summary>PAYMENTS_DATA_DIR, or <c>.data/</c> at the repository root (the folder holding PaymentsOrleans.sln).</summary>
    public static string DefaultDataDirectory()
    {
        var configured = Environment.GetEnvironmentVariable(DataDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Path.GetFullPath(configured);
        }

        // From the working directory (dotnet run at the root), else from the binaries (bin/ inside the repository).
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "PaymentsOrleans.sln")))
                {
                    return Path.Combine(directory.FullName, ".data");
                }
            }
        }

        return Path.Combine(Directory.GetCurrentDirectory(), ".data");
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        if (_localServer is not null)
        {
            await _localServer.DisposeAsync();
        }
    }
}
