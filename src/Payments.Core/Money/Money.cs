using System.Globalization;
using System.Text;

namespace Payments.Core.Money;

/// <summary>An amount as a signed 64-bit count of minor units of one currency. Never a float.</summary>
[GenerateSerializer, Immutable, Alias("Payments.Money")]
public readonly record struct Money([property: Id(0)] long Minor, [property: Id(1)] Currency Currency)
{
    public Money Add(Money other)
    {
        RequireSameCurrency(other);
        return new Money(checked(Minor + other.Minor), Currency);
    }

    /// <summary>The most one payment order may charge, in major units, whatever the currency's decimals.</summary>
    public const long OrderMaxMajorUnits = 999_999_999;

    /// <summary>
    /// The most one payment order may charge: 999,999,999 major units and all the minor ones below (999,999,999.99 USD,
    /// 999,999,999 JPY). Far below the 64-bit limit, so that sums of many orders (a seller's balance, a day's settlement)
    /// cannot overflow it.
    /// </summary>
    public static long OrderMaxMinor(Currency currency)
    {
        long unit = 1;
        for (var i = 0; i < currency.MinorDigits; i++)
        {
            unit *= 10;
        }

        return (OrderMaxMajorUnits * unit) + (unit - 1);
    }

    /// <summary>Formats with exactly the currency's number of decimals: "100.00", "0.00", "5000", "-1.250".</summary>
    public string ToDecimalString() => FormatMinor(Minor, Currency.MinorDigits);

    public static string FormatMinor(long minor, int minorDigits)
    {
        if (minorDigits == 0)
        {
            return minor.ToString(CultureInfo.InvariantCulture);
        }

        // Work on the magnitude as an unsigned value so long.MinValue formats too.
        var negative = minor < 0;
        var magnitude = negative ? (ulong)(-(minor + 1)) + 1UL : (ulong)minor;
        var digits = magnitude.ToString(CultureInfo.InvariantCulture).PadLeft(minorDigits + 1, '0');
        var builder = new StringBuilder(digits.Length + 2);
        if (negative)
        {
            builder.Append('-');
        }

        builder.Append(digits, 0, digits.Length - minorDigits).Append('.').Append(digits, digits.Length - minorDigits, minorDigits);
        return builder.ToString();
    }

    /// <summary>
    /// Parses a positive decimal string in major units ("100.00", "5", "0.5") into minor units.
    /// Refuses signs, exponents, spaces, more decimals than the currency has, and overflow.
    /// </summary>
    public static bool TryParsePositive(string? text, Currency currency, out Money money, out string? error)
    {
        money = default;
        error = null;
        if (string.IsNullOrEmpty(text) || text.Length > 40)
        {
            error = "must be a decimal string such as \"100.00\"";
            return false;
        }

        var point = text.IndexOf('.', StringComparison.Ordinal);
        var whole = point < 0 ? text : text[..point];
        var fraction = point < 0 ? string.Empty : text[(point + 1)..];
        if (whole.Length == 0 || !IsAsciiDigits(whole) || (point >= 0 && (fraction.Length == 0 || !IsAsciiDigits(fraction))))
        {
            error = "must be a decimal string such as \"100.00\"";
            return false;
        }

        if (fraction.Length > currency.MinorDigits)
        {
            error = currency.MinorDigits == 0
                ? $"{currency.Code} has no minor unit: no decimals allowed"
                : $"{currency.Code} allows at most {currency.MinorDigits} decimals";
            return false;
        }

        long minor = 0;
        try
        {
            foreach (var digit in whole)
            {
                minor = checked((minor * 10) + (digit - '0'));
            }

            for (var i = 0; i < currency.MinorDigits; i++)
            {
                var digit = i < fraction.Length ? fraction[i] - '0' : 0;
                minor = checked((minor * 10) + digit);
            }
        }
        catch (OverflowException)
        {
            error = "is too large";
            return false;
        }

        if (minor <= 0)
        {
            error = "must be greater than zero";
            return false;
        }

        money = new Money(minor, currency);
        return true;
    }

    private static bool IsAsciiDigits(string text)
    {
        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }

    private void RequireSameCurrency(Money other)
    {
        if (other.Currency.Code != Currency.Code)
        {
            throw new InvalidOperationException($"Cannot combine {Currency.Code} with {other.Currency.Code}.");
        }
    }

    public override string ToString() => $"{ToDecimalString()} {Currency.Code}";
}
