using System.Text;

namespace Payments.PspSimulator;

/// <summary>
/// Stripe's form encoding as Stripe.net sends it: <c>amount=100</c>, nested <c>metadata[key]=value</c>,
/// lists as <c>types[0]=card</c>.
/// </summary>
internal sealed class FormParameters(IReadOnlyList<KeyValuePair<string, string>> pairs)
{
    public string? Get(string name) =>
        pairs.LastOrDefault(p => p.Key == name) is { Key: not null } pair ? pair.Value : null;

    /// <summary>Whether any parameter is <paramref name="name"/> or nested under it (<c>name[...]</c>).</summary>
    public bool HasPrefix(string name) =>
        pairs.Any(p => p.Key == name || p.Key.StartsWith(name + "[", StringComparison.Ordinal));

    /// <summary>The values of <c>name[key]=value</c>.</summary>
    public IReadOnlyDictionary<string, string> Nested(string name)
    {
        var prefix = name + "[";
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in pairs)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && key.EndsWith(']') && key.Length > prefix.Length + 1)
            {
                var inner = key[prefix.Length..^1];
                if (!inner.Contains('[', StringComparison.Ordinal))
                {
                    result[inner] = value;
                }
            }
        }

        return result;
    }

    /// <summary>The values of <c>name[0]=a&amp;name[1]=b</c> (or <c>name[]=a</c>), in index order.</summary>
    public IReadOnlyList<string> Indexed(string name)
    {
        var prefix = name + "[";
        return pairs
            .Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal) && p.Key.EndsWith(']'))
            .Select(p => (Index: int.TryParse(p.Key[prefix.Length..^1], out var i) ? i : int.MaxValue, p.Value))
            .OrderBy(p => p.Index)
            .Select(p => p.Value)
            .ToList();
    }

    /// <summary>An order-independent rendering of all parameters, to compare two requests.</summary>
    public string Canonical()
    {
        var builder = new StringBuilder();
        foreach (var (key, value) in pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal))
        {
            builder.Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value)).Append('&');
        }

        return builder.ToString();
    }
}
