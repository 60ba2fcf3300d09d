using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Payments.Api.Problems;

/// <summary>Every error the API answers: RFC 9457 problem+json with a stable machine-readable <c>code</c>.</summary>
public static class ApiProblem
{
    public static ProblemHttpResult Create(int status, string code, string title, string? detail = null, IDictionary<string, string[]>? errors = null)
    {
        var extensions = new Dictionary<string, object?> { ["code"] = code };
        if (errors is not null)
        {
            extensions["errors"] = errors;
        }

        return TypedResults.Problem(detail: detail, statusCode: status, title: title, type: $"https://docs.payments-orleans.dev/errors/{code}", extensions: extensions);
    }

    public static ProblemHttpResult Unauthorized() =>
        Create(StatusCodes.Status401Unauthorized, "unauthorized", "Missing or unknown API key", "Send 'Authorization: Bearer <api key>'.");

    public static ProblemHttpResult Forbidden() =>
        Create(StatusCodes.Status403Forbidden, "forbidden", "Operator key required", "This endpoint needs an operator API key.");

    /// <summary>A route of a merchant's own resources called with an operator key.</summary>
    public static ProblemHttpResult MerchantKeyRequired(string detail) =>
        Create(StatusCodes.Status403Forbidden, "merchant_key_required", "Merchant key required", detail);

    public static ProblemHttpResult NotFound(string what, string id) =>
        Create(StatusCodes.Status404NotFound, "resource_missing", $"No such {what}", $"No {what} '{id}' exists.");

    public static ProblemHttpResult Validation(IDictionary<string, string[]> errors) =>
        Create(StatusCodes.Status400BadRequest, "validation_failed", "The request is invalid", "One or more fields are invalid.", errors);

    public static ProblemHttpResult InvalidJson(string detail) =>
        Create(StatusCodes.Status400BadRequest, "invalid_json", "The body is not valid JSON", detail);

    public static ProblemHttpResult TooLarge(long limitBytes) =>
        Create(StatusCodes.Status413PayloadTooLarge, "request_too_large", "The body is too large", $"Request bodies are limited to {limitBytes} bytes.");
}
