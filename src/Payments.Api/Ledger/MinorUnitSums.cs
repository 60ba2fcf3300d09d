using System.Globalization;
using System.Numerics;

namespace Payments.Api.Ledger;

/// <summary>
/// Sums of many amounts, in minor units. One amount fits a <see cref="long"/> (and a payment order is capped far below
/// it), but a sum over an account's rows need not: PostgreSQL's <c>sum(bigint)</c> is <c>numeric</c>, read here as a
/// <see cref="BigInteger"/> and formatted without ever passing through 64 bits, so a huge balance is shown, not a 500.
/// </summary>
public static class MinorUnitSums
{
    /// <summary>Formats with exactly the currency's number of decimals, like <c>Money.FormatMinor</c>, for any size.</summary>
    public static string Format(BigInteger minor, int minorDigits)
    {
        var negative = minor.Sign < 0;
        var digits = BigInteger.Abs(minor).ToString(CultureInfo.InvariantCulture);
        if (minorDigits > 0)
        {
            digits = digits.PadLeft(minorDigits + 1, '0');
            digits = string.Concat(digits.AsSpan(0, digits.Length - minorDigits), ".", digits.AsSpan(digits.Length - minorDigits));
        }

        return negative ? "-" + digits : digits;
    }
}
