using System.Text.Json;

namespace Payments.Api.Payments;

/// <summary>
/// Finds anything in a JSON document that looks like a card number (13–19 digits passing Luhn), so that
/// such a request is refused before it is processed or logged: we never hold card data.
/// </summary>
public static class CardDataDetector
{
    public static bool ContainsCardNumber(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Any(property => ContainsCardNumber(property.Value)),
        JsonValueKind.Array => element.EnumerateArray().Any(ContainsCardNumber),
        JsonValueKind.String => LooksLikeCardNumber(element.GetString()!),
        JsonValueKind.Number => LooksLikeCardNumber(element.GetRawText()),
        _ => false,
    };

    public static bool LooksLikeCardNumber(string text)
    {
        Span<int> digits = stackalloc int[19];
        var count = 0;
        foreach (var c in text)
        {
            if (c is ' ' or '-')
            {
                continue;
            }

            if (c is < '0' or > '9' || count == digits.Length)
            {
                return false;
            }

            digits[count++] = c - '0';
        }

        return count >= 13 && PassesLuhn(digits[..count]);
    }

    private static bool PassesLuhn(ReadOnlySpan<int> digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var digit = digits[digits.Length - 1 - i];
            if (i % 2 == 1)
            {
                digit *= 2;
                if (digit > 9)
                {
                    digit -= 9;
                }
            }

            sum += digit;
        }

        return sum % 10 == 0;
    }
}
