using System.Collections.Frozen;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;
using Payments.Api.Payments;

namespace Payments.Server.Telemetry;

/// <summary>
/// Makes the parts of a URL that a caller chose (path, query) fit for a log line or a span. Our own ids are
/// <c>[A-Za-z0-9_-]</c>, but a URL is whatever the caller sent: a merchant who pastes a card number, an email or an API
/// key into one must not have it land in our logs. So card numbers, email addresses and secrets are replaced wherever
/// they appear, every query value is replaced unless its key is one of a few harmless ones, control characters are
/// escaped (a newline in a path would forge a second log line) and the result is bounded.
/// </summary>
public static partial class LogScrubber
{
    public const string Redacted = "[redacted]";

    /// <summary>Query keys whose values are enums, counts, durations or our own ids: useful in a log, never personal.</summary>
    private static readonly FrozenSet<string> KeptQueryValues =
        FrozenSet.Create(StringComparer.Ordinal, "limit", "order", "status", "type", "class", "older_than", "starting_after");

    private const int PathLengthMax = 256;
    private const int QueryLengthMax = 512;
    private const int ValueLengthMax = 64;

    /// <summary>
    /// A run this long is no id of ours; it is redacted whole rather than searched window by window, which keeps the cost
    /// of a hostile 8 KB path bounded.
    /// </summary>
    private const int DigitRunMax = 64;

    /// <summary>Text with card numbers, email addresses and secrets replaced and control characters escaped; not shortened.</summary>
    public static string Text(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return text;
        }

        // Secrets first: a key such as sk_test_4242… would otherwise be half-eaten by the card rule and half left behind.
        var scrubbed = Secret().Replace(text, Redacted);
        scrubbed = BearerToken().Replace(scrubbed, Redacted);
        scrubbed = Email().Replace(scrubbed, Redacted);
        scrubbed = DigitRun().Replace(scrubbed, run => ContainsCardNumber(run.Value) ? Redacted : run.Value);
        return EscapeControlCharacters(scrubbed);
    }

    /// <summary>A request path (decoded, as ASP.NET Core gives it) ready for a log line or the url.path of a span.</summary>
    public static string Path(string? path) => Bound(Text(path ?? string.Empty), PathLengthMax);

    /// <summary>
    /// A query string (encoded, with or without its leading '?') as <c>?key=value&amp;…</c>: every key kept (scrubbed, since a
    /// key is caller input too), every value replaced by <see cref="Redacted"/> unless its key is harmless. Empty when there
    /// is no query.
    /// </summary>
    public static string Query(string? query)
    {
        if (string.IsNullOrEmpty(query) || query == "?")
        {
            return string.Empty;
        }

        var result = new StringBuilder("?");
        foreach (var pair in new QueryStringEnumerable(query))
        {
            if (result.Length > QueryLengthMax)
            {
                break;
            }

            if (result.Length > 1)
            {
                result.Append('&');
            }

            // Decoded before scrubbing: "4242%204242…" or "jane%40example.com" must be recognised for what they are.
            var key = pair.DecodeName().ToString();
            result.Append(Bound(Text(key), ValueLengthMax));
            var value = pair.DecodeValue();
            if (value.IsEmpty)
            {
                continue;
            }

            result.Append('=').Append(KeptQueryValues.Contains(key) ? Bound(Text(value.ToString()), ValueLengthMax) : Redacted);
        }

        return Bound(result.ToString(), QueryLengthMax);
    }

    /// <summary>
    /// A URL we call (the PSP, a merchant's webhook endpoint) for the url.full of a client span: scheme, host and port as they
    /// are, path and query scrubbed like ours, user info and fragment dropped.
    /// </summary>
    public static string? Url(Uri? url)
    {
        if (url is null || !url.IsAbsoluteUri)
        {
            return null;
        }

        // Authority is host and port without the user info.
        return url.Scheme + "://" + url.Authority
            + Path(Uri.UnescapeDataString(url.AbsolutePath))
            + Query(url.Query);
    }

    /// <summary>
    /// True when some 13–19 consecutive digits of the run pass Luhn. Looking at every window, not only the whole run, is what
    /// catches a card number pasted with its expiry and code after it ("4242 4242 4242 4242 12 27 123"); a false positive
    /// only costs a few digits of a log line.
    /// </summary>
    private static bool ContainsCardNumber(string run)
    {
        var digits = new StringBuilder(run.Length);
        foreach (var c in run)
        {
            if (c is >= '0' and <= '9')
            {
                digits.Append(c);
            }
        }

        if (digits.Length > DigitRunMax)
        {
            return true;
        }

        var text = digits.ToString();
        for (var length = 13; length <= Math.Min(19, text.Length); length++)
        {
            for (var start = 0; start + length <= text.Length; start++)
            {
                if (CardDataDetector.LooksLikeCardNumber(text.Substring(start, length)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static string EscapeControlCharacters(string text)
    {
        if (!text.Any(IsControl))
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (IsControl(c))
            {
                escaped.Append(@"\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                escaped.Append(c);
            }
        }

        return escaped.ToString();
    }

    /// <summary>C0 and C1 controls, and the two Unicode line breaks, which some log viewers also honour.</summary>
    private static bool IsControl(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';

    private static string Bound(string text, int lengthMax) => text.Length <= lengthMax ? text : text[..lengthMax] + "...";

    /// <summary>Stripe's secret and restricted keys and webhook signing secrets, up to the end of the token.</summary>
    [GeneratedRegex(@"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[^\s/?&=#;,]*|(?<![A-Za-z0-9])whsec_[^\s/?&=#;,]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Secret();

    [GeneratedRegex(@"\bbearer\s+[^\s/?&#;,]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BearerToken();

    /// <summary>Anything shaped like local@domain. Broader than a real address on purpose: our ids never hold an '@'.</summary>
    [GeneratedRegex(@"[^\s/?&=#@:;,<>()\[\]""']+@[^\s/?&=#@:;,<>()\[\]""']+", RegexOptions.CultureInvariant)]
    private static partial Regex Email();

    /// <summary>ASCII digits, possibly broken up by spaces and dashes the way card numbers are written, at least 13 of them.</summary>
    [GeneratedRegex(@"(?<![0-9])[0-9](?:[ -]*[0-9]){12,}", RegexOptions.CultureInvariant)]
    private static partial Regex DigitRun();
}
