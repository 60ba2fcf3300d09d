using System.Buffers;
using System.Text.Json;

namespace Payments.PspSimulator;

/// <summary>
/// The file the simulator's state is kept in: one <see cref="SimulatorLogLine"/> per committed transaction,
/// appended and flushed to the operating system before the change becomes visible. That survives a killed
/// process (SIGKILL), not a machine crash: there is no fsync. Not thread-safe: <see cref="SimulatorStore"/>
/// calls it under its lock.
/// </summary>
/// <remarks>
/// At open the file is replayed. A torn last line (the process was killed while writing it) is dropped and
/// cut off; any other unreadable line stops the start, rather than pretending to a state the PSP never had.
/// </remarks>
internal sealed class SimulatorLogFile : IDisposable
{
    private readonly FileStream _file;
    private long _length;

    private SimulatorLogFile(FileStream file, string path)
    {
        _file = file;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Whether lines can still be appended (false once disposed).</summary>
    public bool IsOpen => _file.CanWrite;

    /// <summary>
    /// Opens (creating it if missing) the file at <paramref name="path"/>, held exclusively until
    /// <see cref="Dispose"/>, and hands each whole line to <paramref name="apply"/>, in order, with where it
    /// is (<c>"path, line n"</c>) for error messages.
    /// </summary>
    /// <exception cref="InvalidDataException">A line is neither valid nor the torn last one (or <paramref name="apply"/> refused it).</exception>
    public static SimulatorLogFile Open(string path, Action<SimulatorLogLine, string> apply)
    {
        ArgumentNullException.ThrowIfNull(apply);
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.SequentialScan);
        try
        {
            var log = new SimulatorLogFile(file, path);
            log._length = log.Replay(apply);
            file.SetLength(log._length);
            file.Position = log._length;
            return log;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Appends one line and flushes it to the operating system.</summary>
    public void Append(SimulatorLogLine line)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(line, SimulatorStoreJson.Default.SimulatorLogLine);
        var buffer = new byte[bytes.Length + 1];
        bytes.CopyTo(buffer, 0);
        buffer[^1] = (byte)'\n';
        try
        {
            _file.Write(buffer);
            _file.Flush();
            _length += buffer.Length;
        }
        catch (IOException)
        {
            // Don't leave half a line for the next one to be appended to: cut back to the last whole line.
            _file.SetLength(_length);
            _file.Position = _length;
            throw;
        }
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Reads every whole line; returns the length of the whole lines.</summary>
    private long Replay(Action<SimulatorLogLine, string> apply)
    {
        var line = new ArrayBufferWriter<byte>();
        var buffer = new byte[64 * 1024];
        long position = 0;
        long wholeLines = 0;
        var lineNumber = 0;
        int read;
        while ((read = _file.Read(buffer)) > 0)
        {
            var rest = buffer.AsSpan(0, read);
            while (true)
            {
                var newline = rest.IndexOf((byte)'\n');
                if (newline < 0)
                {
                    line.Write(rest);
                    position += rest.Length;
                    break;
                }

                line.Write(rest[..newline]);
                position += newline + 1;
                lineNumber++;
                ReplayLine(line.WrittenSpan, lineNumber, apply);
                line.ResetWrittenCount();
                wholeLines = position;
                rest = rest[(newline + 1)..];
            }
        }

        // Whatever follows the last newline is a line the process was killed while writing: never acknowledged.
        return wholeLines;
    }

    private void ReplayLine(ReadOnlySpan<byte> json, int lineNumber, Action<SimulatorLogLine, string> apply)
    {
        if (json.Trim(" \t\r"u8).IsEmpty)
        {
            return;
        }

        SimulatorLogLine? line;
        try
        {
            line = JsonSerializer.Deserialize(json, SimulatorStoreJson.Default.SimulatorLogLine);
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"{Path}, line {lineNumber}: not a valid simulator state line ({exception.Message}).", exception);
        }

        if (line is null || line.Version != SimulatorLogLine.FormatVersion)
        {
            throw new InvalidDataException(
                $"{Path}, line {lineNumber}: unknown format version {line?.Version}; this simulator reads version {SimulatorLogLine.FormatVersion}.");
        }

        apply(line, $"{Path}, line {lineNumber}");
    }
}
