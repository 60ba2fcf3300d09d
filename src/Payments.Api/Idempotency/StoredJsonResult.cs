using Microsoft.AspNetCore.Http;
using Payments.Core.Idempotency;

namespace Payments.Api.Idempotency;

/// <summary>Writes a response exactly as stored, so that a replay is byte-for-byte the first answer.</summary>
public sealed class StoredJsonResult(StoredResponse response, bool replayed) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => response.StatusCode;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = response.StatusCode;
        httpContext.Response.ContentType = response.ContentType;
        httpContext.Response.ContentLength = response.Body.Length;
        if (response.Location is not null)
        {
            httpContext.Response.Headers.Location = response.Location;
        }

        if (replayed)
        {
            httpContext.Response.Headers["Idempotent-Replayed"] = "true";
        }

        await httpContext.Response.Body.WriteAsync(response.Body, httpContext.RequestAborted);
    }
}
