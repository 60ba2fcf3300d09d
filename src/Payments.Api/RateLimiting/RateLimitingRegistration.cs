using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Payments.Api.RateLimiting;

/// <summary>
/// The two rate-limiting policies: <see cref="ApiPolicy"/> (a bucket per valid API key, one per client IP for the
/// rest) and <see cref="PspWebhooksPolicy"/> (one bucket for the PSP's webhooks). Endpoints opt in with
/// <c>RequireRateLimiting</c>; health and OpenAPI do not.
/// </summary>
public static class RateLimitingRegistration
{
    public const string ApiPolicy = "api";
    public const string PspWebhooksPolicy = "psp-webhooks";

    public static IServiceCollection AddPaymentsRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<RateLimitingOptions>().BindConfiguration(RateLimitingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ApiKeyPartitions>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitingOptions>>((limiter, settings) =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = (rejected, _) => RateLimitRejection.WriteAsync(rejected.HttpContext, rejected.Lease);
            limiter.AddPolicy(ApiPolicy, context => ForCaller(context, settings.Value));
            limiter.AddPolicy(PspWebhooksPolicy, _ =>
                RateLimitPartition.GetTokenBucketLimiter("psp", _ => Bucket(settings.Value.PspWebhooksPermitsPerSecond, settings.Value.PspWebhooksBurst)));
        });
        return services;
    }

    private static RateLimitPartition<string> ForCaller(HttpContext context, RateLimitingOptions settings)
    {
        var key = context.RequestServices.GetRequiredService<ApiKeyPartitions>().Find(context.Request);
        if (key is not null)
        {
            return RateLimitPartition.GetTokenBucketLimiter("key:" + key, _ => Bucket(settings.PermitsPerSecond, settings.Burst));
        }

        var ip = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        return RateLimitPartition.GetTokenBucketLimiter("ip:" + ip, _ => Bucket(settings.AnonymousPermitsPerSecond, settings.AnonymousBurst));
    }

    /// <summary>Refilled once a second, refused at once when empty (no queue: the caller hears Retry-After).</summary>
    private static TokenBucketRateLimiterOptions Bucket(int permitsPerSecond, int burst) => new()
    {
        TokenLimit = burst,
        TokensPerPeriod = permitsPerSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    };
}
