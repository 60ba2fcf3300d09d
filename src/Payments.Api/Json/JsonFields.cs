using System.Text.Json;

namespace Payments.Api.Json;

/// <summary>Reads one field of a JSON request body, recording a message per bad field instead of throwing.</summary>
public static class JsonFields
{
    /// <summary>A string field that may be absent or null; any other kind of value is an error.</summary>
    public static string? OptionalString(JsonElement parent, string name, string message, Dictionary<string, string[]> errors)
    {
        if (!parent.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            errors[name] = [message];
            return null;
        }

        return element.GetString();
    }

    /// <summary>A string field that must be there and satisfy <paramref name="isValid"/>.</summary>
    public static string? RequiredString(JsonElement parent, string name, Func<string, bool> isValid, string message, Dictionary<string, string[]> errors)
    {
        var value = OptionalString(parent, name, message, errors);
        if (value is null || !isValid(value))
        {
            errors[name] = [message];
            return null;
        }

        return value;
    }
}
