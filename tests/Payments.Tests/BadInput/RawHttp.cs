using System.Net.Sockets;
using System.Text;

namespace Payments.Tests.BadInput;

/// <summary>One hostile request exactly as it goes on the wire: HttpClient would normalise `..`, refuse control characters
/// and NUL in headers, and fix up Content-Length, so these are written by hand on a socket.</summary>
public sealed record RawRequest(string Category, string Method, string Target, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body)
{
    /// <summary>The route template the request was made from (to prove every route was hit).</summary>
    public string Route { get; init; } = string.Empty;

    /// <summary>False for requests a well-behaved client could make that may succeed (GETs of listings): only those may be 2xx.</summary>
    public bool MustBeRefused { get; init; } = true;

    /// <summary>Content-Length as sent; null: the body's length. Lets a request lie about it.</summary>
    public string? ContentLength { get; init; }

    public override string ToString()
    {
        var headers = string.Join("; ", Headers.Select(h => $"{h.Name}: {Printable(h.Value, 60)}"));
        var body = Printable(Encoding.UTF8.GetString(Body, 0, Math.Min(Body.Length, 160)), 160);
        return $"[{Category}] {Method} {Printable(Target, 200)} (route {Route}) headers {{{headers}}} body {Body.Length} bytes: {body}";
    }

    private static string Printable(string text, int max)
    {
        var shown = new StringBuilder();
        foreach (var c in text.Length > max ? text[..max] : text)
        {
            shown.Append(c is < ' ' or '\x7f' ? $"\\x{(int)c:x2}" : c.ToString());
        }

        return text.Length > max ? $"{shown}…({text.Length} chars)" : shown.ToString();
    }
}

/// <summary>What came back: an HTTP answer, or null Status when the connection ended without one (a dropped connection).</summary>
public sealed record RawResponse(int? Status, Dictionary<string, string> Headers, byte[] Body, string? Failure)
{
    public string? ContentType => Headers.TryGetValue("content-type", out var value) ? value : null;

    public string BodyText => Encoding.UTF8.GetString(Body);
}

public static class RawHttp
{
    /// <summary>
    /// Sends the request with `Connection: close` and reads until the server closes. The body is written while the answer is
    /// read: Kestrel may answer 413 or 400 before it has read a large body and then stop reading, which is an answer, not a
    /// drop, so a failed write only counts when no answer came.
    /// </summary>
    public static async Task<RawResponse> SendAsync(Uri server, RawRequest request, CancellationToken cancellationToken)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(server.Host, server.Port, cancellationToken);
        var stream = client.GetStream();
        var head = new StringBuilder();
        head.Append(request.Method).Append(' ').Append(request.Target).Append(" HTTP/1.1\r\n");
        head.Append("Host: ").Append(server.Authority).Append("\r\n");
        foreach (var (name, value) in request.Headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("Content-Length: ").Append(request.ContentLength ?? request.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n");
        head.Append("Connection: close\r\n\r\n");
        // Latin-1 keeps every char below 256 one byte, as a hostile client would send it; higher ones go as UTF-8.
        var headBytes = EncodeHead(head.ToString());

        var writing = WriteAsync(stream, headBytes, request.Body, cancellationToken);
        var (bytes, readFailure) = await ReadToEndAsync(stream, cancellationToken);
        var writeFailure = await writing;
        var parsed = Parse(bytes);
        if (parsed is null)
        {
            return new RawResponse(null, new Dictionary<string, string>(), bytes,
                $"no HTTP answer ({bytes.Length} bytes read; read: {readFailure ?? "EOF"}; write: {writeFailure ?? "ok"})");
        }

        return parsed;
    }

    private static byte[] EncodeHead(string head)
    {
        var bytes = new List<byte>(head.Length);
        foreach (var rune in head.EnumerateRunes())
        {
            if (rune.Value < 256)
            {
                bytes.Add((byte)rune.Value);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(rune.ToString()));
            }
        }

        return bytes.ToArray();
    }

    private static async Task<string?> WriteAsync(NetworkStream stream, byte[] head, byte[] body, CancellationToken cancellationToken)
    {
        try
        {
            await stream.WriteAsync(head, cancellationToken);
            for (var offset = 0; offset < body.Length; offset += 64 * 1024)
            {
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(64 * 1024, body.Length - offset)), cancellationToken);
            }

            // No half-close after the body: Kestrel takes a client's FIN for an abort and would not answer.
            return null;
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException)
        {
            return exception.GetType().Name + ": " + exception.Message;
        }
    }

    private static async Task<(byte[] Bytes, string? Failure)> ReadToEndAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[32 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
            {
                buffer.Write(chunk, 0, read);
            }

            return (buffer.ToArray(), null);
        }
        catch (Exception exception) when (exception is IOException or SocketException)
        {
            // A reset after a complete answer (Kestrel closing on an unread body) still leaves the answer in hand.
            return (buffer.ToArray(), exception.GetType().Name + ": " + exception.Message);
        }
    }

    /// <summary>The status line, headers and (de-chunked) body; null when the bytes hold no complete HTTP answer head.</summary>
    private static RawResponse? Parse(byte[] bytes)
    {
        var text = Encoding.Latin1.GetString(bytes);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0 || !text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) || text.Length < 12
            || !int.TryParse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture, out var status))
        {
            return null;
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in text[..end].Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        var body = bytes.AsSpan(end + 4).ToArray();
        if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        return new RawResponse(status, headers, body, null);
    }

    private static byte[] Dechunk(byte[] chunked)
    {
        using var body = new MemoryStream();
        var position = 0;
        while (position < chunked.Length)
        {
            var lineEnd = Array.IndexOf(chunked, (byte)'\n', position);
            if (lineEnd < 0)
            {
                break;
            }

            var sizeText = Encoding.ASCII.GetString(chunked, position, lineEnd - position).Trim().Split(';')[0];
            var size = Convert.ToInt32(sizeText, 16);
            if (size == 0)
            {
                break;
            }

            body.Write(chunked, lineEnd + 1, Math.Min(size, chunked.Length - lineEnd - 1));
            position = lineEnd + 1 + size + 2;
        }

        return body.ToArray();
    }
}
