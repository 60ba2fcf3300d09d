using System.ComponentModel.DataAnnotations;

namespace Payments.Api;

public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>How long POST /v1/payments waits for its orders to finish before answering 202.</summary>
    public TimeSpan SynchronousWindow { get; set; } = TimeSpan.FromSeconds(5);

    [Range(1024, 16 * 1024 * 1024)]
    public int RequestBodyBytesMax { get; set; } = 256 * 1024;

    /// <summary>After this long a request holding an Idempotency-Key counts as dead and the key may be retried.</summary>
    public TimeSpan IdempotencyLockTimeout { get; set; } = TimeSpan.FromMinutes(1);
}
