using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Payments.Api.Problems;

namespace Payments.Api;

/// <summary>Reads a JSON request body within a size limit, answering 413 or 400 instead of throwing.</summary>
public static class RequestBody
{
    public static async Task<(byte[]? Bytes, ProblemHttpResult? Problem)> ReadAsync(HttpRequest request, int bytesMax, CancellationToken cancellationToken)
    {
        if (request.ContentLength > bytesMax)
        {
            return (null, ApiProblem.TooLarge(bytesMax));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > bytesMax)
            {
                return (null, ApiProblem.TooLarge(bytesMax));
            }

            buffer.Write(chunk, 0, read);
        }

        return (buffer.ToArray(), null);
    }

    /// <summary>
    /// Reads the body within the limit and parses it as JSON: the bytes (for the idempotency fingerprint) and the document
    /// (the caller disposes it), or the 413 or 400 to answer instead.
    /// </summary>
    public static async Task<(byte[]? Bytes, JsonDocument? Document, ProblemHttpResult? Problem)> ReadJsonAsync(HttpRequest request, int bytesMax, CancellationToken cancellationToken)
    {
        var (bytes, tooLarge) = await ReadAsync(request, bytesMax, cancellationToken);
        if (tooLarge is not null)
        {
            return (null, null, tooLarge);
        }

        var (document, invalidJson) = ParseJson(bytes!);
        return (bytes, document, invalidJson);
    }

    public static (JsonDocument? Document, ProblemHttpResult? Problem) ParseJson(byte[] bytes)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException exception)
        {
            return (null, ApiProblem.InvalidJson(exception.Message));
        }

        // The parser accepts escapes of lone surrogates ("\ud800"), but reading such a string throws, which every handler
        // would turn into a 500: text that is not Unicode is not valid JSON for us.
        if (HasInvalidText(document.RootElement))
        {
            document.Dispose();
            return (null, ApiProblem.InvalidJson("A string or name holds an escaped lone surrogate, which is not Unicode text."));
        }

        return (document, null);
    }

    private static bool HasInvalidText(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    return false;
                case JsonValueKind.Array:
                    return element.EnumerateArray().Any(HasInvalidText);
                case JsonValueKind.Object:
                    return element.EnumerateObject().Any(property => property.Name.Length < 0 || HasInvalidText(property.Value));
                default:
                    return false;
            }
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }
}
