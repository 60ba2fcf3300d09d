using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Payments.Core.Money;

/// <summary>An ISO 4217 currency we accept, with its number of minor-unit digits.</summary>
[GenerateSerializer, Immutable, Alias("Payments.Currency")]
public sealed record Currency([property: Id(0)] string Code, [property: Id(1)] int MinorDigits)
{
    // ISO 4217 active codes and their minor units. Codes not listed here are refused at the edge.
    private static readonly FrozenDictionary<string, int> MinorDigitsByCode = new Dictionary<string, int>
    {
        ["AED"] = 2, ["AUD"] = 2, ["BGN"] = 2, ["BHD"] = 3, ["BRL"] = 2, ["CAD"] = 2, ["CHF"] = 2,
        ["CLP"] = 0, ["CNY"] = 2, ["CZK"] = 2, ["DKK"] = 2, ["EUR"] = 2, ["GBP"] = 2, ["HKD"] = 2,
        ["HUF"] = 2, ["IDR"] = 2, ["ILS"] = 2, ["INR"] = 2, ["ISK"] = 0, ["JOD"] = 3, ["JPY"] = 0,
        ["KRW"] = 0, ["KWD"] = 3, ["MXN"] = 2, ["MYR"] = 2, ["NOK"] = 2, ["NZD"] = 2, ["OMR"] = 3,
        ["PHP"] = 2, ["PLN"] = 2, ["RON"] = 2, ["SAR"] = 2, ["SEK"] = 2, ["SGD"] = 2, ["THB"] = 2,
        ["TND"] = 3, ["TRY"] = 2, ["TWD"] = 2, ["UGX"] = 0, ["USD"] = 2, ["VND"] = 0, ["XAF"] = 0,
        ["XOF"] = 0, ["ZAR"] = 2,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static bool TryGet(string? code, [NotNullWhen(true)] out Currency? currency)
    {
        if (code is not null && MinorDigitsByCode.TryGetValue(code, out var digits))
        {
            currency = new Currency(code, digits);
            return true;
        }

        currency = null;
        return false;
    }

    public static Currency Get(string code) =>
        TryGet(code, out var currency) ? currency : throw new ArgumentException($"Unknown currency '{code}'.", nameof(code));

    public override string ToString() => Code;
}
