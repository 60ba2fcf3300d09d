using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Payments.Api.Authentication;
using Payments.Api.Json;
using Payments.Api.Problems;
using Payments.Core.Idempotency;

namespace Payments.Api.Idempotency;

/// <summary>An answer a POST handler gives: a status and a body, to be stored under the Idempotency-Key.</summary>
public sealed record PostOutcome(int StatusCode, object Body, string? Location = null)
{
    public static PostOutcome Problem(ProblemHttpResult problem) => new(problem.StatusCode, problem.ProblemDetails);
}

/// <summary>
/// The IETF Idempotency-Key flow for a POST: same key and request replays the stored answer, same key and
/// another request is 422, a key whose request is still running is 409 with Retry-After.
/// </summary>
public static class IdempotentPost
{
    public const string HeaderName = "Idempotency-Key";

    /// <summary>400 when the header is missing or malformed; null when it is usable.</summary>
    public static ProblemHttpResult? CheckKey(HttpContext context, out string key)
    {
        key = context.Request.Headers[HeaderName].ToString();
        if (key.Length == 0)
        {
            return ApiProblem.Create(StatusCodes.Status400BadRequest, "idempotency_key_missing", "Idempotency-Key required",
                "Every POST needs an Idempotency-Key header.");
        }

        if (!IdempotencyKeys.IsValid(key))
        {
            return ApiProblem.Create(StatusCodes.Status400BadRequest, "idempotency_key_invalid", "Invalid Idempotency-Key",
                $"An Idempotency-Key is 1-{IdempotencyKeys.LengthMax} printable ASCII characters.");
        }

        return null;
    }

    public static Task<IResult> ExecuteAsync(
        HttpContext context,
        IGrainFactory grains,
        Caller caller,
        string key,
        byte[] body,
        TimeSpan lockTimeout,
        Func<Task<PostOutcome>> handle) =>
        ExecuteAsync(context, grains, caller, key, Fingerprint(context.Request, body), lockTimeout, handle);

    /// <summary>
    /// The flow for a request whose fingerprint was computed while its body streamed by (<see cref="StartFingerprint"/>):
    /// <paramref name="handle"/> runs only when the key is new; otherwise the caller's work is left uncommitted.
    /// </summary>
    private static readonly object RequestTokenKey = new();

    /// <summary>
    /// The token of the request being run (inside <see cref="ExecuteAsync"/>'s handler): grains that must tell a repeat of this
    /// very request (the gateway asking again) from another one with the same business id keep it with what it made.
    /// </summary>
    public static string? RequestToken(HttpContext context) => context.Items[RequestTokenKey] as string;

    public static async Task<IResult> ExecuteAsync(
        HttpContext context,
        IGrainFactory grains,
        Caller caller,
        string key,
        string fingerprint,
        TimeSpan lockTimeout,
        Func<Task<PostOutcome>> handle)
    {
        var keyGrain = grains.GetGrain<IIdempotencyKeyGrain>(IdempotencyKeys.GrainKey(caller.MerchantId ?? "operator", key));
        // The request's own token: should the gateway have to ask again (a silo died with the answer), the grain knows it.
        var requestToken = Guid.NewGuid().ToString("N");
        context.Items[RequestTokenKey] = requestToken;
        var begun = await keyGrain.BeginAsync(new BeginRequest(fingerprint, lockTimeout, requestToken));
        switch (begun.Outcome)
        {
            case BeginRequestOutcome.Completed:
                return new StoredJsonResult(begun.Response!, replayed: true);
            case BeginRequestOutcome.FingerprintMismatch:
                return ApiProblem.Create(StatusCodes.Status422UnprocessableEntity, "idempotency_key_reused", "Idempotency-Key reused",
                    "This Idempotency-Key was used with a different request.");
            case BeginRequestOutcome.InProgress:
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(begun.RetryAfter!.Value.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return ApiProblem.Create(StatusCodes.Status409Conflict, "idempotency_key_in_use", "Request in progress",
                    "A request with this Idempotency-Key is still being processed; retry later.");
            case BeginRequestOutcome.Started:
                break;
            default:
                throw new InvalidOperationException($"Unexpected idempotency outcome {begun.Outcome}.");
        }

        PostOutcome outcome;
        try
        {
            outcome = await handle();
        }
        catch (Exception failure)
        {
            // Nothing worth replaying: free the key so the client may retry (business ids prevent a double charge). If even
            // that fails, the lock times out; the client hears of the first failure, not of this one.
            try
            {
                await keyGrain.AbandonAsync(begun.LockToken!);
            }
            catch (Exception abandoning)
            {
                context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(IdempotentPost))
                    .LogWarning(abandoning, "Could not free Idempotency-Key after {Failure}; it frees itself when its lock times out", failure.GetType().Name);
            }

            throw;
        }

        var contentType = outcome.Body is ProblemDetails ? "application/problem+json" : "application/json; charset=utf-8";
        var stored = new StoredResponse(outcome.StatusCode, contentType, JsonSerializer.SerializeToUtf8Bytes(outcome.Body, outcome.Body.GetType(), ApiJson.Options), outcome.Location);
        try
        {
            await keyGrain.CompleteAsync(new CompleteRequest(begun.LockToken!, stored));
        }
        catch (Exception completing)
        {
            // The work is done and its answer is known: give it. Unstored, a retry with the key waits out the lock and then
            // runs again, which the business ids make answer the same thing.
            context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(IdempotentPost))
                .LogWarning(completing, "Could not store the answer of an Idempotency-Key; answering it anyway");
        }

        return new StoredJsonResult(stored, replayed: false);
    }

    private static string Fingerprint(HttpRequest request, byte[] body)
    {
        using var hash = StartFingerprint(request);
        hash.AppendData(body);
        return FinishFingerprint(hash);
    }

    /// <summary>A fingerprint begun with the request's method and path; append the body as it streams, then finish it.</summary>
    public static IncrementalHash StartFingerprint(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method}\n{request.Path}\n"));
        return hash;
    }

    public static string FinishFingerprint(IncrementalHash hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
