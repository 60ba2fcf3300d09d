namespace Payments.Grains.Idempotency;

internal sealed class IdempotencyKeyState
{
    public string? Fingerprint { get; set; }

    public bool Completed { get; set; }

    public DateTimeOffset LockedAt { get; set; }

    public int StatusCode { get; set; }

    public string? ContentType { get; set; }

    public byte[]? Body { get; set; }

    public string? Location { get; set; }
}
