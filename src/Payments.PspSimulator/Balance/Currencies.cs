using System.Globalization;

namespace Payments.PspSimulator.Balance;

/// <summary>Minor units of currencies as Stripe counts them, and the PSP's fees on them; integer arithmetic only.</summary>
public static class Currencies
{
    // Stripe's zero-decimal and three-decimal currencies; every other has two decimals.
    private static readonly HashSet<string> ZeroDecimal = new(StringComparer.OrdinalIgnoreCase)
    {
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    };

    private static readonly HashSet<string> ThreeDecimal = new(StringComparer.OrdinalIgnoreCase) { "bhd", "jod", "kwd", "omr", "tnd" };

    public static int Decimals(string currency) =>
        ZeroDecimal.Contains(currency) ? 0 : ThreeDecimal.Contains(currency) ? 3 : 2;

    /// <summary>
    /// The PSP's fee on a charge of <paramref name="amount"/> minor units: 2.9 % rounded half up to the minor unit, plus
    /// 0.30 for USD. Int128 so that no amount a long holds overflows the product.
    /// </summary>
    public static long ChargeFee(string currency, long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var percent = (long)((((Int128)amount * 29) + 500) / 1000);
        return string.Equals(currency, "usd", StringComparison.OrdinalIgnoreCase) ? percent + 30 : percent;
    }

    /// <summary>Minor units as major ones with the currency's decimals, as Stripe's reports write them ("12.30", "-5000").</summary>
    public static string Major(long minor, string currency)
    {
        var decimals = Decimals(currency);
        var sign = minor < 0 ? "-" : string.Empty;
        var magnitude = minor < 0 ? -(Int128)minor : minor;
        if (decimals == 0)
        {
            return sign + magnitude.ToString(CultureInfo.InvariantCulture);
        }

        Int128 scale = decimals == 3 ? 1000 : 100;
        var fraction = (magnitude % scale).ToString(CultureInfo.InvariantCulture).PadLeft(decimals, '0');
        return sign + (magnitude / scale).ToString(CultureInfo.InvariantCulture) + "." + fraction;
    }
}
