using System.Text;

namespace Payments.Tests.BadInput;

/// <summary>The raw material of bad requests. Every list named "Invalid…" holds only values the API must refuse.</summary>
public static class HostileValues
{
    /// <summary>Amounts no field may accept: sign, exponent, zero, too many digits, spaces, other digits, JSON non-strings.</summary>
    public static readonly string[] InvalidAmountsJson =
    [
        "\"-1.00\"", "\"0\"", "\"0.00\"", "\"-0\"", "\"1e5\"", "\"1E2\"", "\"1.5e2\"", "\"1.0e-2\"", "\"1.001\"", "\"0.0000001\"",
        "\"99999999999999999999999999999\"", "\"1000000000\"", "\"9223372036854775807\"", "\"9223372036854775808.00\"",
        "\" 1.00\"", "\"1.00 \"", "\"1,00\"", "\"1_000\"", "\"+1\"", "\"1.\"", "\".5\"", "\"0x10\"", "\"NaN\"", "\"Infinity\"",
        "\"\\uff11\\uff10\"", "\"\\u0661\\u0662\"", "\"1\\u00002\"", "\"\"", "\"١٠\"", "\"10.00USD\"", "\"１\"",
        "100", "10.5", "-1", "0", "1e400", "-1e400", "123456789012345678901234567890", "0.1e1", "1E+2", "null", "true", "[]", "{}", "[\"1.00\"]",
    ];

    /// <summary>Ids outside 1–64 of A-Z a-z 0-9 _ -.</summary>
    public static readonly string[] InvalidIdsJson =
    [
        "\"\"", "\"a b\"", "\"..\"", "\"../etc/passwd\"", "\"a/b\"", "\"a%2Fb\"", "\"\\u0000\"", "\"id\\u0000x\"", "\"é\"", "\"\\ud83d\\ude00\"",
        "\"\\ud800\"", "\"{0}\"", "\"{\"", "\"}\"", "\"%s%n\"", "\"'; DROP TABLE ledger_entries; --\"", $"\"{new string('a', 65)}\"",
        $"\"{new string('x', 5000)}\"", "\"\\u202eabc\"", "\"a\\nb\"", "\"a\\tb\"", "\"<script>\"", "1", "-1", "1e308", "true", "null", "[]", "{}",
    ];

    public static readonly string[] InvalidDatesJson =
    [
        "\"\"", "\"2026-13-01\"", "\"2026-02-30\"", "\"20261120\"", "\"2026-11-20T00:00:00Z\"", "\"9999-12-31\"", "\"0000-00-00\"", "\"-2026-01-01\"",
        "\"2026-1-1\"", "\"２０２６-１１-２０\"", "\"yesterday\"", "\"2026-11-20\\u0000\"", "20261120", "null", "[]", "{}", "true",
    ];

    public static readonly string[] InvalidUrlsJson =
    [
        "\"\"", "\"not a url\"", "\"ftp://example.com/x\"", "\"javascript:alert(1)\"", "\"file:///etc/passwd\"", "\"https://user:pw@example.com/\"",
        "\"//example.com\"", "\"https://\"", "\"http://[::1\"", "\"https://exa mple.com\"", $"\"https://e.com/{new string('a', 10000)}\"", "1", "null", "[]",
    ];

    /// <summary>A value that no enum-like field (source, interval, resolution, type) has.</summary>
    public static readonly string[] InvalidEnumsJson =
    [
        "\"\"", "\"PSP\"", "\" psp\"", "\"psp\\u0000\"", "\"sometimes\"", "\"Weekly\"", "\"monday\"", "\"written-off\"", "\"toke n\"", "\"*\"", "1", "null", "[]", "{}", "true",
    ];

    /// <summary>Noise for fields that stay valid-or-not (buyer, reason, note): unicode, NUL, lone surrogates, long strings, wrong types.</summary>
    public static readonly string[] NoiseJson =
    [
        "\"\\u0000\"", "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"😀🇳🇱👨‍👩‍👧\"", "\"\\u202e\\u200b\\ufeff\"", "\"Ω≈ç√∫\"", "\"\\u0301\\u0301\\u0301\"",
        $"\"{new string('é', 3000)}\"", "\"4242 4242 4242 4242\"", "\"4000-0000-0000-0002\"", "1e308", "-0", "1.7976931348623157e309", "{\"a\":[1,{\"b\":null}]}",
    ];

    /// <summary>Bodies that are not JSON at all, or not one object.</summary>
    public static readonly string[] InvalidJsonBodies =
    [
        "{", "}", "{\"a\":}", "{\"a\" 1}", "[1,2", "{'a':1}", "nul", "{\"a\":1,}", "{\"a\":1}garbage", "{\"a\":1}{\"b\":2}", "// c\n{}", "/* c */{}",
        "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":01}", "{\"a\":.5}", "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"unterminated}", "\"\\ud800",
        "{\"a\":\"\t\"}", "{\"a\":\"line\nbreak\"}", "\u0000", "{\"\u0000\":1}", "<xml/>", "a=1&b=2", "--boundary\r\n", "\ufeff{\"a\"", "{\"a\":1e99999}",
    ];

    public static readonly string[] NonObjectJsonBodies = ["[]", "[{}]", "\"s\"", "1", "-1", "0.5", "null", "true", "false", "\"\"", "[null]"];

    /// <summary>Idempotency-Key values that are valid (1–255 printable ASCII, any char): on their own they refuse nothing.</summary>
    public static IEnumerable<string> ValidKeys()
    {
        for (var c = '!'; c <= '~'; c++)
        {
            yield return $"k{c}{c}";
            yield return c.ToString();
        }

        yield return "{0}";
        yield return "{}{}{";
        yield return "%s%n%x";
        yield return "%00%ff";
        yield return "a b c";
        yield return new string('k', 255);
        yield return new string('{', 255);
        yield return new string('%', 255);
    }

    /// <summary>Idempotency-Key values the API must refuse (400): too long, control characters, non-ASCII. Empty is "missing".</summary>
    public static readonly string[] InvalidKeys =
    [
        new string('k', 256), new string('}', 256), new string('%', 1000), "a\x01b", "\x7f", "a\tb", "k\x1b[31m", "ké", "k😀", "k\x00k", "\x0b", new string('k', 9000),
    ];

    /// <summary>Authorization headers that carry no valid key. Null: no header at all.</summary>
    public static readonly string?[] InvalidAuthorizations =
    [
        null, "", "Bearer", "Bearer ", "Basic c2tfdGVzdDp4", "Bearer sk_test_nope", "Bearer sk_test_merchant_a_", "Bearer  ", "Token sk_test_merchant_a",
        "Bearer sk_test_merchant_a extra", "Bearer sk_test_merchant_\x01", "Bearer ské", "Bearer " + new string('k', 8000), "Bearer\tsk_test_merchant_a",
        "Bearer {0}", "Bearer %00", "Bearer \x00", "Digest username=\"a\"",
    ];

    public static readonly string?[] ContentTypes =
    [
        null, "", "text/plain", "application/json; charset=utf-16", "application/json; charset=\"\"", "application/json; charset=klingon",
        "application/jsonx", "*/*", ";;;", "application/", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
        "application/problem+json", "application/json; " + new string('p', 4000) + "=1", "text/csv", "application/xml", "text/xml; charset=latin1",
        "application/json;charset=UTF-8;charset=utf-7", "\x01application/json", "applicätion/json",
    ];

    /// <summary>Path segments that replace an id: percent junk, traversal, unicode, very long.</summary>
    public static readonly string[] PathIds =
    [
        "%00", "%2F", "%2e%2e", "..", ".", "...", "%ZZ", "%", "%C0%AF", "%FF%FE", "%E2%80%AE", "%F0%9F%98%80", "a%00b", "%252F", "%5C..%5C",
        "%7B0%7D", "%7B", "%25s", "%22%27", "%3Cscript%3E", "%20", "+", ";a=b", "a;jsessionid=1", "~", "%u0041", "é", "😀", "日本",
        new string('a', 65), new string('b', 4000), new string('c', 9000), string.Concat(Enumerable.Repeat("%41", 2000)), "po_1%0d%0aX-Injected:%201",
    ];

    public static readonly string[] QueryJunk =
    [
        "limit=-1", "limit=abc", "limit=0", "limit=1001", "limit=101", "limit=99999999999999999999", "limit=1e2", "limit=", "limit=%00", "limit=1&limit=2",
        "limit=+5", "limit=%205", "limit=0x10", "limit=５", "starting_after=%00", "starting_after=..", "starting_after=" + new string('x', 3000),
        "starting_after=evt_nope", "starting_after=pay_nope", "starting_after=brk_nope", "starting_after=%7B%7D&starting_after=x", "type=nope", "type=*",
        "order=sideways", "order=asc&order=desc", "older_than=P-1D", "older_than=PTjunk", "older_than=P99999999D", "older_than=P3651D", "older_than=-PT1M",
        "older_than=PT0.0000001S", "class=nope", "status=nope", "class=auto_fixed", "payment_order_id=", "payment_order_id=a&payout_id=b",
        "payment_order_id=%2e%2e", "automatic_payout_id=" + new string('p', 5000), "payout_id=%ZZ", "run_id=%00", "=", "&&&", "a[]=1&a[0]=2",
        "%ZZ=%ZZ", "limit", "limit=1;limit=2", "status=failing&status=failed", "status=" + new string('s', 2000),
    ];

    public static readonly string[] WrongMethods = ["PATCH", "DELETE", "PUT", "POST", "GET", "OPTIONS", "TRACE", "HEAD", "FOO", "PROPFIND", "get"];

    /// <summary>UTF-8 bytes of <paramref name="text"/>; raw, so that "\u0000" in a C# literal is a real NUL byte.</summary>
    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A body larger than any limit: a field holding a string of <paramref name="size"/> bytes.</summary>
    public static string Huge(int size) => "{\"note\":\"" + new string('x', size) + "\"}";

    /// <summary>JSON nested <paramref name="depth"/> deep, in arrays or objects.</summary>
    public static string Nested(int depth, bool objects) => objects
        ? string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth)
        : new string('[', depth) + new string(']', depth);

    public static T Pick<T>(this Random random, IReadOnlyList<T> values) => values[random.Next(values.Count)];
}
