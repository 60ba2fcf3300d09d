using System.Globalization;
using System.Runtime.InteropServices;

namespace Payments.LoadTest;

/// <summary>
/// The machine a run measured: a figure means little without the cores it had, its memory and how busy it already was
/// (the development machine is shared, and its load average moves the figures more than most changes do).
/// </summary>
internal static class MachineInfo
{
    /// <summary>The 1-minute load average (first field of /proc/loadavg); null where there is none.</summary>
    public static double? LoadAverage1Min()
    {
        try
        {
            var fields = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var load)
                ? load
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>MemTotal of /proc/meminfo in kB; null where there is none.</summary>
    public static long? TotalMemoryKb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    var value = line["MemTotal:".Length..].Trim();
                    var space = value.IndexOf(' ', StringComparison.Ordinal);
                    return long.TryParse(space < 0 ? value : value[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var kb)
                        ? kb
                        : null;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not Linux: the line says "?".
        }

        return null;
    }

    /// <summary>One line: cores, memory, load at start and end, OS, .NET and (when known) the PostgreSQL server's version.</summary>
    public static string Describe(double? loadAtStart, double? loadAtEnd, string? postgresVersion)
    {
        var memory = TotalMemoryKb() is { } kb
            ? string.Create(CultureInfo.InvariantCulture, $"{kb / 1024.0 / 1024.0:F1} GiB")
            : "? GiB";
        return string.Create(CultureInfo.InvariantCulture,
            $"machine: {Environment.ProcessorCount} processors, {memory} memory, load average (1 min) {Load(loadAtStart)} at start, "
            + $"{Load(loadAtEnd)} after the measured checkouts; {RuntimeInformation.OSDescription}; {RuntimeInformation.FrameworkDescription}; "
            + $"PostgreSQL {postgresVersion ?? "(database not given)"}");
    }

    private static string Load(double? load) => load is { } value ? value.ToString("F2", CultureInfo.InvariantCulture) : "?";
}
