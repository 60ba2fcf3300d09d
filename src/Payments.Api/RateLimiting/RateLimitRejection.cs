using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Payments.Api.Problems;

namespace Payments.Api.RateLimiting;

/// <summary>A refused request: 429 problem+json, code <c>rate_limited</c>, and <c>Retry-After</c> in whole seconds.</summary>
public static class RateLimitRejection
{
    public static async ValueTask WriteAsync(HttpContext context, RateLimitLease lease)
    {
        var seconds = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
            ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
            : 1;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problem = ApiProblem.Create(
            StatusCodes.Status429TooManyRequests,
            "rate_limited",
            "Too many requests",
            $"This client sends requests faster than it may; retry after {seconds} s.");
        await problem.ExecuteAsync(context);
    }
}
