using System.Diagnostics.CodeAnalysis;

namespace Payments.Reconciliation.BankStatements;

/// <summary>
/// Reads a camt.053 amount (an xs:decimal in major units: "8.85", "2700", "8.850") into minor units of its currency,
/// digit by digit: never through a double, and never rounding.
/// </summary>
public static class StatementAmount
{
    // ISO 20022 amounts have at most 18 digits; beyond 18 integer digits a long could overflow anyway.
    private const int MaxDigits = 30;

    /// <summary>
    /// Parses <paramref name="text"/> into minor units of a currency with <paramref name="minorDigits"/> decimals.
    /// More decimals than the currency has are taken when they are zeros ("8.850" EUR is 885 cents) and refused
    /// otherwise ("8.855" EUR is not a whole number of cents). Signs other than a leading '+' are refused: the
    /// direction of an amount is its CdtDbtInd.
    /// </summary>
    public static bool TryParseMinorUnits(string? text, int minorDigits, out long minorUnits, [NotNullWhen(false)] out string? error)
    {
        minorUnits = 0;
        // xs:decimal collapses surrounding XML whitespace.
        var value = (text ?? string.Empty).AsSpan().Trim(" \t\r\n");
        if (value.StartsWith("+"))
        {
            value = value[1..];
        }

        if (value.StartsWith("-"))
        {
            error = $"'{text}' is negative: camt.053 amounts are unsigned, their CdtDbtInd gives the direction";
            return false;
        }

        var point = value.IndexOf('.');
        var whole = point < 0 ? value : value[..point];
        var fraction = point < 0 ? [] : value[(point + 1)..];
        if (value.IsEmpty || value.Length > MaxDigits || (whole.IsEmpty && fraction.IsEmpty)
            || !IsAsciiDigits(whole) || !IsAsciiDigits(fraction))
        {
            error = $"'{text}' is not an amount such as 8.85";
            return false;
        }

        if (fraction.Length > minorDigits && fraction[minorDigits..].ContainsAnyExcept('0'))
        {
            error = minorDigits == 0
                ? $"'{text}' is not a whole amount, and the currency has no minor unit"
                : $"'{text}' is not a whole number of minor units: the currency has {minorDigits} decimals";
            return false;
        }

        long minor = 0;
        try
        {
            foreach (var digit in whole)
            {
                minor = checked((minor * 10) + (digit - '0'));
            }

            for (var i = 0; i < minorDigits; i++)
            {
                minor = checked((minor * 10) + (i < fraction.Length ? fraction[i] - '0' : 0));
            }
        }
        catch (OverflowException)
        {
            error = $"'{text}' is too large an amount";
            return false;
        }

        minorUnits = minor;
        error = null;
        return true;
    }

    private static bool IsAsciiDigits(ReadOnlySpan<char> text) => !text.ContainsAnyExceptInRange('0', '9');
}
