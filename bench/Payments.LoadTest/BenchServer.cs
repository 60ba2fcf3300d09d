using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Payments.LoadTest;

/// <summary>
/// The server a <c>--reconciliation</c> run measures: one already running (its pid given), or one the bench builds and
/// starts itself as a child process, on free ports, with a private PostgreSQL in a data directory of its own, and stops
/// again (its data directory deleted unless asked to keep it).
/// </summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    private readonly Process? _process;
    private readonly StreamWriter? _log;
    private readonly bool _deleteDataDirectory;
    private bool _stopped;

    private BenchServer(Uri baseUrl, int pid, string connectionString, string? dataDirectory, Process? process, StreamWriter? log, bool deleteDataDirectory)
    {
        BaseUrl = baseUrl;
        Pid = pid;
        ConnectionString = connectionString;
        DataDirectory = dataDirectory;
        _process = process;
        _log = log;
        _deleteDataDirectory = deleteDataDirectory;
    }

    public Uri BaseUrl { get; }

    /// <summary>The server process (the .NET host: API, silo and simulator; PostgreSQL runs in processes of its own).</summary>
    public int Pid { get; }

    /// <summary>The server's database, as its superuser: seeding and statement logging need one.</summary>
    public string ConnectionString { get; private set; }

    /// <summary>The server's data directory, when known (its PostgreSQL cluster is in <c>postgres/</c>).</summary>
    public string? DataDirectory { get; }

    public string Description => _process is null
        ? $"running server pid {Pid} at {BaseUrl}"
        : $"bench-started server pid {Pid} at {BaseUrl}, data {DataDirectory}{(_deleteDataDirectory ? " (deleted at the end)" : " (kept)")}";

    /// <summary>A server someone else started: its pid, address and database come from the options (or its data directory).</summary>
    public static BenchServer Attach(ReconciliationBenchOptions options)
    {
        var pid = options.ServerPid ?? throw new InvalidOperationException("Attach needs --server-pid.");
        if (!File.Exists($"/proc/{pid}/status"))
        {
            throw new InvalidOperationException($"no process {pid} (/proc/{pid}/status)");
        }

        var dataDirectory = options.DataDirectory ?? DefaultDataDirectory();
        var connectionString = options.DatabaseConnectionString ?? PrivatePostgresConnectionString(dataDirectory)
            ?? throw new InvalidOperationException(
                $"no running private PostgreSQL in {dataDirectory}/postgres (postmaster.pid): give --database or --data-dir");
        return new BenchServer(options.BaseUrl ?? new Uri("http://127.0.0.1:5080"), pid, connectionString, dataDirectory, null, null, false);
    }

    /// <summary>Builds the server (Release) and starts it on free ports with its own data directory; returns once it is ready.</summary>
    public static async Task<BenchServer> StartAsync(ReconciliationBenchOptions options, string runId, CancellationToken cancellationToken)
    {
        var root = RepositoryRoot() ?? throw new InvalidOperationException("PaymentsOrleans.sln not found above the working directory: run the bench from the repository");
        var project = Path.Combine(root, "src", "Payments.Server", "Payments.Server.csproj");
        Console.WriteLine($"server:             building {Path.GetRelativePath(root, project)} (Release)");
        var build = Stopwatch.StartNew();
        await RunToEndAsync("dotnet", ["build", project, "-c", "Release", "--nologo", "-v", "quiet"], root, cancellationToken);
        build.Stop();
        var dll = Path.Combine(root, "src", "Payments.Server", "bin", "Release", "net10.0", "Payments.Server.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"the build did not leave {dll}");
        }

        var dataDirectory = options.DataDirectory ?? Path.Combine(Path.GetTempPath(), $"payments-recon-bench-{runId}");
        Directory.CreateDirectory(dataDirectory);
        var ports = FreeLoopbackPorts(4);
        var baseUrl = new Uri($"http://127.0.0.1:{ports[0]}");
        var start = new ProcessStartInfo
        {
            FileName = "dotnet",
            WorkingDirectory = root,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[
            dll,
            "--urls", baseUrl.ToString().TrimEnd('/'),
            $"--Psp:BaseUrl=http://127.0.0.1:{ports[1]}",
            $"--Server:SiloPort={ports[2]}",
            $"--Server:GatewayPort={ports[3]}",
            $"--Database:DataDirectory={dataDirectory}",
            // The daily run would fetch yesterday's report from the simulator in the middle of the measurement.
            "--Reconciliation:DailyRuns=false",
        ])
        {
            start.ArgumentList.Add(argument);
        }

        var logPath = Path.Combine(dataDirectory, "server-output.log");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, line) => WriteLog(log, line.Data);
        process.ErrorDataReceived += (_, line) => WriteLog(log, line.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException("the server process did not start");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new BenchServer(baseUrl, process.Id, "", dataDirectory, process, log, options.DataDirectory is null && !options.KeepData);
        try
        {
            var ready = Stopwatch.StartNew();
            await WaitUntilReadyAsync(process, baseUrl, logPath, cancellationToken);
            server.ConnectionString = PrivatePostgresConnectionString(dataDirectory)
                ?? throw new InvalidOperationException($"the server is ready but {dataDirectory}/postgres/postmaster.pid names no running PostgreSQL");
            Console.WriteLine($"server:             built in {build.Elapsed.TotalSeconds:F1} s, ready in {ready.Elapsed.TotalSeconds:F1} s "
                + $"(pid {process.Id}, {baseUrl}, output in {logPath})");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops a server the bench started (SIGTERM, so it stops its PostgreSQL; else its process tree is killed) and removes its data.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is null || _stopped)
        {
            return;
        }

        _stopped = true;
        NpgsqlConnection.ClearAllPools();
        if (!_process.HasExited)
        {
            await RunToEndAsync("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)], "/", CancellationToken.None, quiet: true);
            using var wait = new CancellationTokenSource(StopTimeout);
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine($"server:             pid {_process.Id} did not stop within {StopTimeout.TotalSeconds:F0} s: killing its process tree");
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }

        if (DataDirectory is not null)
        {
            // Killed (not stopped), the server leaves its PostgreSQL running: stop that too.
            await StopLeftoverPostgresAsync(Path.Combine(DataDirectory, "postgres"));
        }

        Console.WriteLine($"server:             pid {_process.Id} stopped (exit code {_process.ExitCode})");
        _process.Dispose();
        if (_log is not null)
        {
            await _log.DisposeAsync();
        }

        if (_deleteDataDirectory && DataDirectory is not null && Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
            Console.WriteLine($"server:             deleted {DataDirectory}");
        }
        else if (DataDirectory is not null)
        {
            Console.WriteLine($"server:             data kept in {DataDirectory}");
        }
    }

    /// <summary>The connection string of the private PostgreSQL the server runs in <paramref name="dataDirectory"/>, if it is running.</summary>
    public static string? PrivatePostgresConnectionString(string dataDirectory)
    {
        // postmaster.pid: line 1 the PID, line 4 the port (as the server's own launcher reads it).
        var pidFile = Path.Combine(dataDirectory, "postgres", "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return null;
        }

        var lines = File.ReadAllLines(pidFile);
        if (lines.Length < 4
            || !int.TryParse(lines[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !int.TryParse(lines[3], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || !File.Exists($"/proc/{pid}/status"))
        {
            return null;
        }

        return new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "payments",
            // Seeding a million rows and committing them (the deferred balance checks) takes longer than the default 30 s.
            CommandTimeout = 0,
        }.ConnectionString;
    }

    /// <summary>PAYMENTS_DATA_DIR, or .data/ at the repository root: where <c>dotnet run --project src/Payments.Server</c> keeps its database.</summary>
    private static string DefaultDataDirectory()
    {
        var configured = Environment.GetEnvironmentVariable("PAYMENTS_DATA_DIR");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Path.GetFullPath(configured);
        }

        return Path.Combine(RepositoryRoot() ?? Directory.GetCurrentDirectory(), ".data");
    }

    private static string? RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "PaymentsOrleans.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        return null;
    }

    private static async Task WaitUntilReadyAsync(Process process, Uri baseUrl, string logPath, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the server exited with {process.ExitCode} before it was ready: see {logPath}");
            }

            try
            {
                using var response = await http.GetAsync("health/ready", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > ReadyTimeout)
            {
                throw new InvalidOperationException($"the server was not ready within {ReadyTimeout.TotalSeconds:F0} s: see {logPath}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    private static async Task StopLeftoverPostgresAsync(string clusterDirectory)
    {
        if (PrivatePostgresConnectionString(Path.GetDirectoryName(clusterDirectory)!) is null)
        {
            return;
        }

        var pgCtl = Directory.Exists("/usr/lib/postgresql")
            ? Directory.EnumerateDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", "pg_ctl")).FirstOrDefault(File.Exists)
            : null;
        pgCtl ??= "pg_ctl";
        Console.WriteLine($"server:             stopping the PostgreSQL it left in {clusterDirectory}");
        // PostgreSQL runs as nobody when the server ran as root (it refuses root).
        string[] stop = ["stop", "-D", clusterDirectory, "-m", "fast", "-w", "-t", "60"];
        if (Environment.IsPrivilegedProcess)
        {
            await RunToEndAsync("runuser", ["-u", "nobody", "--", pgCtl, .. stop], "/", CancellationToken.None);
        }
        else
        {
            await RunToEndAsync(pgCtl, stop, "/", CancellationToken.None);
        }
    }

    /// <summary>Free loopback ports, all different (each listener stays open until all are chosen).</summary>
    private static int[] FreeLoopbackPorts(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
                listener.Dispose();
            }
        }
    }

    private static void WriteLog(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }

    private static async Task RunToEndAsync(string fileName, IReadOnlyList<string> arguments, string workingDirectory, CancellationToken cancellationToken, bool quiet = false)
    {
        var start = new ProcessStartInfo
        {
            FileName = fileName,
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0 && !quiet)
        {
            var text = (await output + await errors).Trim();
            throw new InvalidOperationException($"'{fileName} {string.Join(' ', arguments)}' exited with {process.ExitCode}: {ConcurrentRequests.Truncate(text)}");
        }
    }
}
