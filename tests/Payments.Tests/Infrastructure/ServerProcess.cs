using System.Diagnostics;
using System.Globalization;

namespace Payments.Tests.Infrastructure;

/// <summary>
/// The real server as a process of its own (dotnet Payments.Server.dll), so that a test can kill it with
/// SIGKILL and start it again on the same data directory; or any other program of ours (the PSP simulator) the same way.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _logPath;

    private ServerProcess(Process process, string logPath, Uri apiAddress)
    {
        _process = process;
        _logPath = logPath;
        ApiAddress = apiAddress;
    }

    public Uri ApiAddress { get; }

    public int ProcessId => _process.Id;

    public static Task<ServerProcess> StartAsync(string dataDirectory, Uri apiAddress, Uri pspAddress, int siloPort, int gatewayPort, string logName) =>
        LaunchAsync(BuiltAssemblyPath("Payments.Server"),
        [
            $"--urls={apiAddress.ToString().TrimEnd('/')}",
            $"--Database:DataDirectory={dataDirectory}",
            "--Server:DurableDatabase=false",
            $"--Server:SiloPort={siloPort.ToString(CultureInfo.InvariantCulture)}",
            $"--Server:GatewayPort={gatewayPort.ToString(CultureInfo.InvariantCulture)}",
            "--Server:ReminderPeriodMin=00:00:01",
            $"--Psp:BaseUrl={pspAddress.ToString().TrimEnd('/')}",
            "--Psp:RequestTimeout=00:00:02",
            "--PaymentOrders:ReminderPeriod=00:00:02",
            "--PaymentOrders:Retry:DelayBase=00:00:00.050",
            "--PaymentOrders:Retry:DelayMax=00:00:00.500",
            "--PaymentOrders:Retry:AttemptsMax=50",
            "--Api:IdempotencyLockTimeout=00:00:02",
            // Tests' webhook receivers listen on loopback.
            "--Webhooks:AllowPrivateNetworks=true",
            "--Logging:LogLevel:Default=Warning",
        ], new Dictionary<string, string>(), dataDirectory, logName, apiAddress, "/health/ready");

    /// <summary>
    /// <paramref name="assemblyPath"/> (a built program: <see cref="BuiltAssemblyPath"/>) run with <c>dotnet</c>, its output
    /// kept in <paramref name="logName"/> in <paramref name="workingDirectory"/>; returns once <paramref name="readyPath"/>
    /// answers 2xx at <paramref name="address"/>.
    /// </summary>
    public static async Task<ServerProcess> LaunchAsync(
        string assemblyPath, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string workingDirectory,
        string logName, Uri address, string readyPath)
    {
        var logPath = Path.Combine(workingDirectory, logName);
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        startInfo.ArgumentList.Add(assemblyPath);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {Path.GetFileName(assemblyPath)}");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) { lock (log) { log.WriteLine(line.Data); } } };
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) { lock (log) { log.WriteLine(line.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, logPath, address);
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.MatchesAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Path.GetFileName(assemblyPath)} exited with {process.ExitCode}: {server.ReadLog()}");
            }

            try
            {
                using var response = await client.GetAsync(readyPath);
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        }, ready => ready, TimeSpan.FromSeconds(90), $"{Path.GetFileName(assemblyPath)} ({logName}) to be ready");
        return server;
    }

    public void KillHard() => _process.Kill(entireProcessTree: false);

    /// <summary>Asks the server to stop (SIGTERM), as an operator would, and waits for it.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-s", "TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(deadline.Token);
    }

    public string ReadLog()
    {
        using var stream = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    /// <summary>A program of this repository built beside this test assembly: src/&lt;name&gt;/bin/&lt;configuration&gt;/&lt;framework&gt;/&lt;name&gt;.dll.</summary>
    public static string BuiltAssemblyPath(string name)
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory);
        var framework = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        for (var directory = testOutput; directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "src", name, "bin", configuration, framework, name + ".dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{name}.dll was not found beside the tests; build the solution first.");
    }
}
