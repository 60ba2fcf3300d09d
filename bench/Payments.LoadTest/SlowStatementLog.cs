using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Payments.LoadTest;

/// <summary>
/// Where a run's database time goes: has PostgreSQL log every statement slower than a bound
/// (<c>log_min_duration_statement</c>, for every session at once via <c>ALTER SYSTEM</c> and a reload), then reads what
/// its log gained meanwhile and prints each statement's duration with the start of its text. The setting is reset after.
/// </summary>
internal sealed partial class SlowStatementLog
{
    private readonly string _connectionString;
    private readonly string? _logPath;
    private readonly long _offset;

    private SlowStatementLog(string connectionString, string? logPath, long offset)
    {
        _connectionString = connectionString;
        _logPath = logPath;
        _offset = offset;
    }

    public static async Task<SlowStatementLog> StartAsync(string connectionString, int thresholdMs, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, $"ALTER SYSTEM SET log_min_duration_statement = {thresholdMs.ToString(CultureInfo.InvariantCulture)}", cancellationToken);
        await ExecuteAsync(connection, "SELECT pg_reload_conf()", cancellationToken);
        // The private PostgreSQL writes its log to server.log in its cluster directory (pg_ctl -l).
        string? logPath;
        await using (var show = new NpgsqlCommand("SHOW data_directory", connection))
        {
            logPath = Path.Combine((string)(await show.ExecuteScalarAsync(cancellationToken))!, "server.log");
        }

        if (!File.Exists(logPath))
        {
            Console.WriteLine($"statement log:      {logPath} not found: durations are logged but will not be printed");
            logPath = null;
        }

        // Backends take the new setting at their next command after the reload signal.
        await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        return new SlowStatementLog(connectionString, logPath, logPath is null ? 0 : new FileInfo(logPath).Length);
    }

    /// <summary>Resets the setting and prints the statements logged since <see cref="StartAsync"/>, in the order they ended.</summary>
    public async Task StopAndPrintAsync(int thresholdMs)
    {
        await using (var connection = new NpgsqlConnection(_connectionString))
        {
            await connection.OpenAsync();
            await ExecuteAsync(connection, "ALTER SYSTEM RESET log_min_duration_statement", CancellationToken.None);
            await ExecuteAsync(connection, "SELECT pg_reload_conf()", CancellationToken.None);
        }

        if (_logPath is null)
        {
            return;
        }

        string text;
        await using (var file = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            file.Seek(_offset, SeekOrigin.Begin);
            using var reader = new StreamReader(file, Encoding.UTF8);
            text = await reader.ReadToEndAsync();
        }

        var statements = Parse(text);
        Console.WriteLine($"statements > {thresholdMs} ms: {statements.Count}, {statements.Sum(s => s.Milliseconds) / 1000:F2} s in all (from {_logPath})");
        foreach (var (ms, statement) in statements)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {ms / 1000,8:F3} s  {statement}"));
        }
    }

    /// <summary>The log's duration entries: each starts with a time stamp; a statement's further lines follow it unprefixed.</summary>
    private static List<(double Milliseconds, string Statement)> Parse(string text)
    {
        var found = new List<(double, string)>();
        var entry = new StringBuilder();
        void Flush()
        {
            var match = Duration().Match(entry.ToString());
            if (match.Success)
            {
                var statement = Whitespace().Replace(match.Groups[2].Value, " ").Trim();
                found.Add((double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), statement.Length <= 240 ? statement : statement[..240] + "..."));
            }

            entry.Clear();
        }

        foreach (var line in text.Split('\n'))
        {
            if (LogLineStart().IsMatch(line))
            {
                Flush();
            }

            entry.Append(line).Append('\n');
        }

        Flush();
        return found;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")]
    private static partial Regex LogLineStart();

    [GeneratedRegex(@"LOG:  duration: ([0-9.]+) ms  (.*)", RegexOptions.Singleline)]
    private static partial Regex Duration();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
