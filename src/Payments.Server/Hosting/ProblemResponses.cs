using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Payments.Server.Cluster;

namespace Payments.Server.Hosting;

/// <summary>Errors outside the endpoints (no route, bad request framing, a fault) are problem+json with a code too.</summary>
internal static class ProblemResponses
{
    public static WebApplication UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler(handler => handler.Run(async context =>
        {
            var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var (status, code, title) = IsBadDashboardArgument(context, error) ? (400, "bad_request", "The request is malformed") : Classify(error);
            if (status == StatusCodes.Status503ServiceUnavailable)
            {
                context.Response.Headers.RetryAfter = code == DatabaseUnavailableCode ? DatabaseRetryAfterSeconds : ClusterRetryAfterSeconds;
            }

            await WriteAsync(context, status, code, title);
        }));
        app.UseStatusCodePages(async statusContext =>
        {
            var context = statusContext.HttpContext;
            var (code, title) = context.Response.StatusCode switch
            {
                404 => ("route_not_found", "No such route"),
                405 => ("method_not_allowed", "Method not allowed"),
                415 => ("unsupported_media_type", "Unsupported media type"),
                _ => ("http_error", "Request failed"),
            };
            await WriteAsync(context, context.Response.StatusCode, code, title);
        });
        return app;
    }

    /// <summary>A silo that just died is declared dead, and its grains move, within seconds.</summary>
    private const string ClusterRetryAfterSeconds = "2";

    private const string DatabaseUnavailableCode = "service_unavailable";

    /// <summary>A database restart takes a few seconds; an outage longer, and the client will ask again.</summary>
    private const string DatabaseRetryAfterSeconds = "5";

    /// <summary>
    /// The answer to an error no endpoint handled. A silo that died or a grain call that timed out is the cluster being
    /// unavailable for a moment, not our fault nor the client's: 503 with Retry-After (every POST is idempotent by its key and
    /// business ids, so asking again is safe), never 500.
    /// </summary>
    internal static (int Status, string Code, string Title) Classify(Exception? error) => error switch
    {
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => (413, "request_too_large", "The body is too large"),
        BadHttpRequestException bad => (bad.StatusCode, "bad_request", "The request is malformed"),
        _ when DatabaseFailures.IsUnavailable(error) => (503, DatabaseUnavailableCode, "The database is unavailable; retry"),
        _ when ClusterFailures.IsClusterFailure(error) => (503, "cluster_unavailable", "Briefly unavailable; retry"),
        _ => (500, "internal_error", "Something went wrong on our side"),
    };

    /// <summary>
    /// The Orleans dashboard (a package we only map) reads a silo address from its paths and throws when it is not one
    /// (<c>GET /dashboard/SiloCounters/x</c>: a FormatException inside the grain's activation, or an ArgumentException for an
    /// empty one). That is the client's mistake: 400, not 500.
    /// </summary>
    private static bool IsBadDashboardArgument(HttpContext context, Exception? error)
    {
        if (!context.Request.Path.StartsWithSegments("/dashboard", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        for (var cause = error; cause is not null; cause = cause.InnerException)
        {
            if (cause is FormatException or ArgumentException)
            {
                return true;
            }
        }

        return false;
    }

    private static async Task WriteAsync(HttpContext context, int status, string code, string title)
    {
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = status,
                Title = title,
                Type = $"https://docs.payments-orleans.dev/errors/{code}",
                Extensions = { ["code"] = code },
            },
        });
    }
}
