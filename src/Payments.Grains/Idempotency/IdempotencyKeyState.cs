using Payments.Grains.Storage;

namespace Payments.Grains.Idempotency;

// Stored as JSON: the expiry sweep (IdempotencyExpiryStore) finds completed keys by the "Completed":true in their payload.
[StoredAsJson]
[GenerateSerializer, Alias("Payments.Grains.IdempotencyKeyState")]
internal sealed class IdempotencyKeyState
{
    [Id(0)]
    public string? Fingerprint { get; set; }

    [Id(1)]
    public bool Completed { get; set; }

    [Id(2)]
    public DateTimeOffset LockedAt { get; set; }

    [Id(3)]
    public int StatusCode { get; set; }

    [Id(4)]
    public string? ContentType { get; set; }

    [Id(5)]
    public byte[]? Body { get; set; }

    [Id(6)]
    public string? Location { get; set; }

    /// <summary>Who holds the lock: a request that took it over after a timeout gets a new token, so the old one can no longer touch the key.</summary>
    [Id(7)]
    public string? LockToken { get; set; }

    /// <summary>When the answer was stored: the retention counts from here. Records from before it was kept have none (LockedAt stands in).</summary>
    [Id(8)]
    public DateTimeOffset? CompletedAt { get; set; }
}
