using Payments.Server.Telemetry;

namespace Payments.Tests.Unit;

public sealed class LogScrubberTests
{
    public static TheoryData<string, string> Paths() => new()
    {
        // Our own ids and routes stay readable.
        { "/v1/payments/po_3f2a9c1e7b", "/v1/payments/po_3f2a9c1e7b" },
        { "/v1/payouts/sched_seller_1_EUR_20250101", "/v1/payouts/sched_seller_1_EUR_20250101" },
        { "/v1/events/1700000000000", "/v1/events/1700000000000" },
        { "/v1/payments/424242424242", "/v1/payments/424242424242" },
        { "/v1/disk_live_1/desk_test_2", "/v1/disk_live_1/desk_test_2" },
        // Card numbers, however they are written, and wherever in a segment.
        { "/v1/payments/4242424242424242", "/v1/payments/[redacted]" },
        { "/v1/payments/4242 4242 4242 4242/refunds", "/v1/payments/[redacted]/refunds" },
        { "/v1/payments/4000-0566-5566-5556", "/v1/payments/[redacted]" },
        { "/v1/payments/pi_378282246310005x", "/v1/payments/pi_[redacted]x" },
        { "/v1/cards/4242 4242 4242 4242 12 27 123", "/v1/cards/[redacted]" },
        { "/v1/x/" + new string('7', 80), "/v1/x/[redacted]" },
        // Email addresses and secrets.
        { "/v1/sellers/jane.doe+shop@example.com/wallet", "/v1/sellers/[redacted]/wallet" },
        { "/v1/keys/sk_live_51HqLyjWDarjtT1zdp7dc", "/v1/keys/[redacted]" },
        { "/v1/keys/SK_TEST_abc/rotate", "/v1/keys/[redacted]/rotate" },
        { "/v1/keys/rk_live_abc", "/v1/keys/[redacted]" },
        { "/v1/keys/x_rk_test_abc", "/v1/keys/x_[redacted]" },
        { "/v1/hooks/whsec_c2VjcmV0+/x", "/v1/hooks/[redacted]/x" },
        { "/v1/auth/Bearer abc.def-ghi", "/v1/auth/[redacted]" },
        // A newline would start a forged log line.
        { "/v1/a\nINFO fake line\r", "/v1/a\\u000aINFO fake line\\u000d" },
        { "", "" },
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void Scrubs_paths(string path, string expected) => Assert.Equal(expected, LogScrubber.Path(path));

    [Fact]
    public void Bounds_a_long_path_after_scrubbing_it()
    {
        var card = "/4242424242424242";
        var path = "/v1/" + new string('a', 250) + card;
        Assert.Equal("/v1/" + new string('a', 250) + "/[...", LogScrubber.Path(path));
    }

    public static TheoryData<string, string> Queries() => new()
    {
        { "", "" },
        { "?", "" },
        // Harmless keys keep their values (still scrubbed); every other value goes.
        { "?limit=10&order=desc&status=failing", "?limit=10&order=desc&status=failing" },
        { "limit=10&type=payment.succeeded", "?limit=10&type=payment.succeeded" },
        { "?older_than=PT15M&starting_after=evt_123", "?older_than=PT15M&starting_after=evt_123" },
        { "?limit=4242424242424242", "?limit=[redacted]" },
        { "?status=sk_test_abc", "?status=[redacted]" },
        { "?payment_order_id=po_1&seller=s1", "?payment_order_id=[redacted]&seller=[redacted]" },
        { "?Limit=5", "?Limit=[redacted]" },
        // Decoded before it is looked at, so encoding hides nothing; the keys are scrubbed too.
        { "?email=jane.doe%40example.com&card=4242+4242+4242+4242", "?email=[redacted]&card=[redacted]" },
        { "?4242424242424242=1&jane%40example.com", "?[redacted]=[redacted]&[redacted]" },
        { "?flag&empty=", "?flag&empty" },
        { "?a%0Ab=1", "?a\\u000ab=[redacted]" },
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public void Scrubs_queries(string query, string expected) => Assert.Equal(expected, LogScrubber.Query(query));

    [Fact]
    public void Bounds_a_long_query()
    {
        var query = "?" + string.Join('&', Enumerable.Range(0, 200).Select(i => $"k{i}=v"));
        var scrubbed = LogScrubber.Query(query);
        Assert.Equal(515, scrubbed.Length);
        Assert.StartsWith("?k0=[redacted]&k1=[redacted]&", scrubbed, StringComparison.Ordinal);
        Assert.EndsWith("...", scrubbed, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Urls() => new()
    {
        { "http://127.0.0.1:5090/v1/payment_intents/pi_123?expand=latest_charge", "http://127.0.0.1:5090/v1/payment_intents/pi_123?expand=[redacted]" },
        { "https://user:sk_live_x@hooks.example.com/in/4242%204242%204242%204242?token=abc#part", "https://hooks.example.com/in/[redacted]?token=[redacted]" },
        { "https://hooks.example.com/", "https://hooks.example.com/" },
    };

    [Theory]
    [MemberData(nameof(Urls))]
    public void Scrubs_urls_we_call(string url, string expected) => Assert.Equal(expected, LogScrubber.Url(new Uri(url)));

    [Fact]
    public void Has_no_url_for_a_relative_or_missing_one()
    {
        Assert.Null(LogScrubber.Url(null));
        Assert.Null(LogScrubber.Url(new Uri("/v1/payments", UriKind.Relative)));
    }
}
