using System.Globalization;
using System.Text.Json;

namespace Payments.Tests.Reconciliation;

/// <summary>
/// Reads the expected parses of the fixtures: JSON dumps of genkgo/camt's object graph, one property per getter
/// ("getAmount"), objects tagged with "__CLASS__", dates as { "0": "2014-12-31T00:00:00+00:00" }.
/// The dumper writes an object it has already written as "__RECURSIVITY__" and visits getters in alphabetical
/// order, so a list getter (getTransactionDetails) shows its first item as a marker for the singular getter that
/// came just before it (getTransactionDetail). <see cref="Items"/> undoes that.
/// </summary>
internal static class GenkgoCamtDump
{
    private const string AlreadyWritten = "__RECURSIVITY__";

    public static JsonElement Get(this JsonElement owner, string getter) => owner.GetProperty(getter);

    public static bool IsNull(this JsonElement value) => value.ValueKind == JsonValueKind.Null;

    public static string? Text(this JsonElement owner, string getter) => owner.GetProperty(getter) switch
    {
        { ValueKind: JsonValueKind.Null } => null,
        var value => value.GetString(),
    };

    /// <summary>The last part of "__CLASS__": "Genkgo\\Camt\\DTO\\IbanAccount" is "IbanAccount".</summary>
    public static string ClassName(this JsonElement value) => value.GetProperty("__CLASS__").GetString()!.Split('\\')[^1];

    public static DateTimeOffset? Instant(this JsonElement owner, string getter) =>
        owner.GetProperty(getter) is { ValueKind: JsonValueKind.Object } date
            ? DateTimeOffset.Parse(date.GetProperty("0").GetString()!, CultureInfo.InvariantCulture)
            : null;

    /// <summary>Money\Money: a signed amount in minor units (as a string) and a currency code.</summary>
    public static (long SignedMinor, string Currency)? Money(this JsonElement owner, string getter) =>
        owner.GetProperty(getter) is { ValueKind: JsonValueKind.Object } money
            ? (long.Parse(money.GetProperty("getAmount").GetString()!, CultureInfo.InvariantCulture),
               money.GetProperty("getCurrency").GetProperty("getCode").GetString()!)
            : null;

    /// <summary>
    /// The items of a list getter, with a leading marker replaced by the value of the singular getter that the
    /// dumper wrote first (the same object). Other markers are not expected in these fixtures and fail the test.
    /// </summary>
    public static List<JsonElement> Items(this JsonElement owner, string listGetter, string firstItemGetter)
    {
        var items = owner.GetProperty(listGetter).EnumerateArray().ToList();
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].ValueKind == JsonValueKind.String && items[i].GetString() == AlreadyWritten)
            {
                Assert.True(i == 0, $"{listGetter}[{i}] is a marker for an object written elsewhere; only item 0 can be resolved");
                items[i] = owner.GetProperty(firstItemGetter);
            }
        }

        return items;
    }

    /// <summary>A value that may be a marker for <paramref name="sameObject"/>, written earlier.</summary>
    public static JsonElement Resolve(this JsonElement value, JsonElement sameObject) =>
        value.ValueKind == JsonValueKind.String && value.GetString() == AlreadyWritten ? sameObject : value;
}
