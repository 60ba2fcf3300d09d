using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Payments.Database;

/// <summary>
/// A private PostgreSQL server living in the data directory, for development and tests: initialised once,
/// started on a free loopback port, reused when a killed process left it running, stopped on dispose.
/// </summary>
public sealed class LocalPostgres : IAsyncDisposable
{
    private const string DatabaseName = "payments";
    private const string UnprivilegedUser = "nobody";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    private readonly PostgresBinaries _binaries;
    private readonly string _clusterDirectory;
    private readonly ILogger _logger;
    private bool _stopped;

    private LocalPostgres(PostgresBinaries binaries, string clusterDirectory, int port, ILogger logger)
    {
        _binaries = binaries;
        _clusterDirectory = clusterDirectory;
        _logger = logger;
        Port = port;
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = DatabaseName,
            MaxPoolSize = 60,
        }.ConnectionString;
    }

    public int Port { get; }

    public string ConnectionString { get; }

    /// <param name="dataDirectory">The data directory; the server's files go to its <c>postgres/</c> folder.</param>
    /// <param name="durable">False trades crash safety of the machine (not of our process) for speed, for tests.</param>
    public static async Task<LocalPostgres> StartAsync(string dataDirectory, bool durable, ILogger logger, CancellationToken cancellationToken)
    {
        var binaries = PostgresBinaries.Locate();
        var clusterDirectory = Path.Combine(Path.GetFullPath(dataDirectory), "postgres");
        var runAsUnprivileged = Environment.IsPrivilegedProcess;
        Directory.CreateDirectory(clusterDirectory);
        if (runAsUnprivileged && !OperatingSystem.IsWindows())
        {
            // PostgreSQL refuses to run as root: hand the cluster to an unprivileged user that can reach it.
            MakeAncestorsTraversable(clusterDirectory, logger);
            await RunAsync("chown", ["-R", UnprivilegedUser, clusterDirectory], asUnprivileged: false, clusterDirectory, cancellationToken);
        }

        if (!File.Exists(Path.Combine(clusterDirectory, "PG_VERSION")))
        {
            await InitializeClusterAsync(binaries, clusterDirectory, durable, logger, cancellationToken);
        }

        var port = await FindRunningServerPortAsync(clusterDirectory, cancellationToken);
        if (port is int runningPort)
        {
            logger.LogInformation("Reusing the PostgreSQL server already running on port {Port} for {Directory}", runningPort, clusterDirectory);
        }
        else
        {
            port = await StartServerAsync(binaries, clusterDirectory, durable, logger, cancellationToken);
        }

        var server = new LocalPostgres(binaries, clusterDirectory, port.Value, logger);
        await server.EnsureDatabaseAsync(cancellationToken);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        NpgsqlConnection.ClearAllPools();
        if (!File.Exists(Path.Combine(_clusterDirectory, "postmaster.pid")))
        {
            return;
        }

        _logger.LogInformation("Stopping PostgreSQL in {Directory}", _clusterDirectory);
        await RunAsync(_binaries.PgCtl, ["stop", "-D", _clusterDirectory, "-m", "fast", "-w", "-t", "60"],
            Environment.IsPrivilegedProcess, _clusterDirectory, CancellationToken.None);
    }

    private static async Task InitializeClusterAsync(PostgresBinaries binaries, string clusterDirectory, bool durable, ILogger logger, CancellationToken cancellationToken)
    {
        // A half-written cluster from an interrupted initdb has no PG_VERSION; initdb needs an empty folder.
        foreach (var entry in Directory.EnumerateFileSystemEntries(clusterDirectory))
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }

        logger.LogInformation("Creating a PostgreSQL cluster in {Directory}", clusterDirectory);
        List<string> arguments = ["-D", clusterDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"];
        if (!durable)
        {
            arguments.Add("--no-sync");
        }

        await RunAsync(binaries.InitDb, arguments, Environment.IsPrivilegedProcess, clusterDirectory, cancellationToken);
    }

    private static async Task<int> StartServerAsync(PostgresBinaries binaries, string clusterDirectory, bool durable, ILogger logger, CancellationToken cancellationToken)
    {
        const int attemptsMax = 3;
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeLoopbackPort();
            var settings = $"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' -c max_connections=300"
                // Per-statement counts and times for the bench and for operators (`pg_stat_statements`); it costs little.
                + " -c shared_preload_libraries=pg_stat_statements";
            if (!durable)
            {
                settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
            }

            try
            {
                await RunAsync(binaries.PgCtl,
                    ["start", "-D", clusterDirectory, "-l", Path.Combine(clusterDirectory, "server.log"), "-w", "-t", "60", "-o", settings],
                    Environment.IsPrivilegedProcess, clusterDirectory, cancellationToken);
                logger.LogInformation("PostgreSQL started on 127.0.0.1:{Port} for {Directory}", port, clusterDirectory);
                return port;
            }
            catch (InvalidOperationException) when (attempt < attemptsMax)
            {
                // Most likely the port was taken between choosing it and binding it: choose again.
                logger.LogWarning("PostgreSQL did not start on port {Port}; trying another port", port);
            }
        }
    }

    /// <summary>The port of a live server that already owns this cluster (left by a killed process), if any.</summary>
    private static async Task<int?> FindRunningServerPortAsync(string clusterDirectory, CancellationToken cancellationToken)
    {
        var pidFile = Path.Combine(clusterDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return null;
        }

        // postmaster.pid: line 1 the PID, line 4 the port.
        var lines = await File.ReadAllLinesAsync(pidFile, cancellationToken);
        if (lines.Length < 4
            || !int.TryParse(lines[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !int.TryParse(lines[3], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || !IsProcessAlive(pid))
        {
            return null;
        }

        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return port;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static bool IsProcessAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private async Task EnsureDatabaseAsync(CancellationToken cancellationToken)
    {
        var adminConnectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
        exists.Parameters.Add(new NpgsqlParameter { Value = DatabaseName });
        if (await exists.ExecuteScalarAsync(cancellationToken) is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName}", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void MakeAncestorsTraversable(string directory, ILogger logger)
    {
        for (var current = Directory.GetParent(directory); current is not null; current = current.Parent)
        {
            var mode = File.GetUnixFileMode(current.FullName);
            if (!mode.HasFlag(UnixFileMode.OtherExecute))
            {
                logger.LogWarning("Allowing others to traverse {Directory} so that the unprivileged PostgreSQL user reaches its data", current.FullName);
                File.SetUnixFileMode(current.FullName, mode | UnixFileMode.OtherExecute);
            }
        }
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, bool asUnprivileged, string workingDirectory, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo
        {
            FileName = asUnprivileged ? "runuser" : fileName,
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asUnprivileged)
        {
            foreach (var argument in (string[])["-u", UnprivilegedUser, "--", fileName])
            {
                startInfo.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CommandTimeout);
        // pg_ctl start leaves the server holding inherited pipes: read until the command itself exits only.
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            await Task.WhenAny(errors, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
            var detail = errors.IsCompletedSuccessfully ? errors.Result : string.Empty;
            throw new InvalidOperationException($"'{fileName} {string.Join(' ', arguments)}' exited with {process.ExitCode}: {detail}");
        }
    }
}
