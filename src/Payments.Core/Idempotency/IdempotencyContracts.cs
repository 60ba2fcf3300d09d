namespace Payments.Core.Idempotency;

/// <summary>A response kept so that a replay returns it byte for byte.</summary>
[GenerateSerializer, Alias("Payments.StoredResponse")]
public sealed record StoredResponse(
    [property: Id(0)] int StatusCode,
    [property: Id(1)] string ContentType,
    [property: Id(2)] byte[] Body,
    [property: Id(3)] string? Location);

[GenerateSerializer, Alias("Payments.BeginRequestOutcome")]
public enum BeginRequestOutcome
{
    Started = 0,
    InProgress = 1,
    FingerprintMismatch = 2,
    Completed = 3,
}

/// <param name="RequestToken">
/// One HTTP request's own id, made by the gateway: it becomes the lock token. A begin repeated with the same token (the gateway
/// asking again after a silo died with the first one's answer) is the same request: it is answered Started, not InProgress.
/// Null makes a fresh token (each begin a request of its own).
/// </param>
[GenerateSerializer, Immutable, Alias("Payments.BeginRequest")]
public sealed record BeginRequest([property: Id(0)] string Fingerprint, [property: Id(1)] TimeSpan LockTimeout, [property: Id(2)] string? RequestToken = null);

/// <param name="LockToken">For <see cref="BeginRequestOutcome.Started"/>: proves to Complete/Abandon that the caller still holds the lock.</param>
[GenerateSerializer, Alias("Payments.BeginRequestResult")]
public sealed record BeginRequestResult(
    [property: Id(0)] BeginRequestOutcome Outcome,
    [property: Id(1)] StoredResponse? Response,
    [property: Id(2)] TimeSpan? RetryAfter,
    [property: Id(3)] string? LockToken = null);

[GenerateSerializer, Alias("Payments.CompleteRequest")]
public sealed record CompleteRequest([property: Id(0)] string LockToken, [property: Id(1)] StoredResponse Response);

[Alias("Payments.IIdempotencyKeyGrain")]
public interface IIdempotencyKeyGrain : IGrainWithStringKey
{
    [Alias("BeginAsync")]
    Task<BeginRequestResult> BeginAsync(BeginRequest command);

    /// <summary>Stores the response, if the caller still holds the lock and no response is stored yet (the first answer stands).</summary>
    [Alias("CompleteAsync")]
    Task CompleteAsync(CompleteRequest command);

    /// <summary>Releases the lock of a request that ended without a response worth keeping, if the caller still holds it.</summary>
    [Alias("AbandonAsync")]
    Task AbandonAsync(string lockToken);
}

public static class IdempotencyKeys
{
    public const int LengthMax = 255;

    /// <summary>
    /// The key's grain: a digest of merchant and key, so that any printable key works as a grain key (a key with <c>{</c>
    /// once reached a format string in the storage provider) and a long one costs no more than a short one.
    /// </summary>
    public static string GrainKey(string merchantId, string key) =>
        "idem_" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{merchantId}\n{key}")));

    /// <summary>1–255 printable ASCII characters (space to tilde), any of them: the key is opaque.</summary>
    public static bool IsValid(string key) => key.Length is > 0 and <= LengthMax && key.All(c => c is >= ' ' and <= '~');
}
