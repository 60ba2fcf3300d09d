using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Payments.Api.Authentication;

namespace Payments.Api.RateLimiting;

/// <summary>
/// The rate limiter's partition for a request's API key. The limiter runs before the endpoint's key check, so it hashes
/// the presented key and looks the hash up among the configured keys' hashes: partitions are named by hash, never by
/// the key, and a key nobody configured gets no partition of its own (it falls to its client IP's bucket).
/// </summary>
public sealed class ApiKeyPartitions(IOptions<ApiKeyOptions> options)
{
    private readonly Lazy<IReadOnlySet<string>> _known = new(() =>
        options.Value.EffectiveKeys.Select(key => Hash(key.Key)).ToHashSet(StringComparer.Ordinal));

    /// <summary>The partition of a configured key presented as <c>Bearer</c> (see <see cref="Caller.BearerKey"/>), otherwise null.</summary>
    public string? Find(HttpRequest request)
    {
        if (Caller.BearerKey(request) is not { Length: > 0 } presented)
        {
            return null;
        }

        var hash = Hash(presented);
        return _known.Value.Contains(hash) ? hash : null;
    }

    private static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
