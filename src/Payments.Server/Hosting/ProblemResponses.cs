using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Payments.Server.Hosting;

/// <summary>Errors outside the endpoints (no route, bad request framing, a fault) are problem+json with a code too.</summary>
internal static class ProblemResponses
{
    public static WebApplication UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler(handler => handler.Run(async context =>
        {
            var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var (status, code, title) = error switch
            {
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => (413, "request_too_large", "The body is too large"),
                BadHttpRequestException bad => (bad.StatusCode, "bad_request", "The request is malformed"),
                _ => (500, "internal_error", "Something went wrong on our side"),
            };
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
