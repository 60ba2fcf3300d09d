using System.Security.Cryptography;

namespace Payments.Api.Reconciliation;

/// <summary>
/// An uploaded file as it streams in: every byte read also goes into the request's fingerprint, and more than the
/// limit stops the reading (<see cref="UploadTooLargeException"/>) instead of filling the database.
/// </summary>
internal sealed class UploadBody(Stream inner, IncrementalHash fingerprint, long bytesMax) : Stream
{
    private long _read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        return Count(buffer.Span[..read]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Reads what the file's reader left (trailing whitespace after the last row or element): the fingerprint is of the whole body.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (await ReadAsync(buffer, cancellationToken) > 0)
        {
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Count(ReadOnlySpan<byte> read)
    {
        _read += read.Length;
        if (_read > bytesMax)
        {
            throw new UploadTooLargeException(bytesMax);
        }

        fingerprint.AppendData(read);
        return read.Length;
    }
}

internal sealed class UploadTooLargeException(long bytesMax) : Exception($"The upload is larger than {bytesMax} bytes.")
{
    public long BytesMax { get; } = bytesMax;
}
