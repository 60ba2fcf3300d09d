using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Payments.Server.Telemetry;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>
/// The request log says which request got which answer, and neither it nor anything else the server logs or traces holds
/// the card numbers, email address or API key that a careless caller put into the URL, the headers or the body.
/// </summary>
public sealed partial class RequestLogTests
{
    private const string Email = "jane.doe@example.com";

    /// <summary>What must appear nowhere, in any of the forms it travelled in.</summary>
    private static readonly string[] Forbidden =
    [
        "4242424242424242", "4242 4242 4242 4242", "4242%204242", "4000056655665556", "4000-0566-5566-5556",
        Email, "jane.doe%40example.com", TestServer.MerchantKey, "sk_test_leaked_in_query",
    ];

    /// <summary>A card number in the path (spaces, as a client would encode them) and in the query, an email and a key there too.</summary>
    private const string CardInPathAndQuery =
        "/v1/payments/4242%204242%204242%204242?email=jane.doe%40example.com&limit=4000056655665556&starting_after=sk_test_leaked_in_query";

    private const string ScrubbedQuery = "?email=[redacted]&limit=[redacted]&starting_after=[redacted]";

    [Fact]
    public async Task Each_request_gets_one_line_and_no_log_of_the_process_holds_card_data_emails_or_keys()
    {
        var captured = new CapturingLoggerProvider();
        var dataDirectory = TestServer.NewDataDirectory();
        try
        {
            await using (var server = await TestServer.StartAsync(dataDirectory, ShippedLogLevels(), logging => logging
                             .AddProvider(captured)
                             // Our own categories down to Trace as well: what they might say at Debug must be clean too.
                             .AddFilter<CapturingLoggerProvider>("Payments", LogLevel.Trace)))
            {
                using var merchant = server.CreateClient();
                using var anonymous = server.CreateClient(apiKey: null);
                using (var lookup = await merchant.GetAsync(new Uri(CardInPathAndQuery, UriKind.Relative)))
                {
                    Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
                }

                using (var noRoute = await anonymous.GetAsync(new Uri("/v1/cards/4000-0566-5566-5556?pan=4242424242424242", UriKind.Relative)))
                {
                    Assert.Equal(HttpStatusCode.NotFound, noRoute.StatusCode);
                }

                var body = $$"""
                    {"checkout_id":"{{Ids.New("chk")}}","buyer":{"id":"b","email":"{{Email}}"},
                     "payment_method":{"type":"card","number":"4242 4242 4242 4242","cvc":"123"},
                     "orders":[{"payment_order_id":"{{Ids.New("po")}}","seller_account":"s1","amount":"1.00","currency":"USD"}]}
                    """;
                using (var cardBody = await merchant.PostRawAsync("/v1/payments", body, Ids.New("key")))
                {
                    Assert.Equal(HttpStatusCode.BadRequest, cardBody.StatusCode);
                }

                using var operatorClient = server.CreateClient(TestServer.OperatorKey);
                using (var deadLetters = await operatorClient.GetAsync(new Uri("/v1/ops/dead-letters?limit=5", UriKind.Relative)))
                {
                    Assert.Equal(HttpStatusCode.OK, deadLetters.StatusCode);
                }

                using (var health = await anonymous.GetAsync(new Uri("/health/live", UriKind.Relative)))
                {
                    Assert.Equal(HttpStatusCode.OK, health.StatusCode);
                }

                // A line is written once its response has gone out, so the client can be a moment ahead of it.
                await Eventually.MatchesAsync(() => Task.FromResult(RequestLines(captured)), lines => lines.Length >= 5, TimeSpan.FromSeconds(10),
                    "five request log lines");
            }

            // One line per request, no more, whatever order the last moments of the requests ran in.
            var lines = RequestLines(captured);
            Assert.Equal(5, lines.Length);
            AssertLine(lines, LogLevel.Information, "GET", "/v1/payments/[redacted]", ScrubbedQuery, 404, "merchant_a");
            AssertLine(lines, LogLevel.Information, "GET", "/v1/cards/[redacted]", "?pan=[redacted]", 404, "-");
            AssertLine(lines, LogLevel.Information, "POST", "/v1/payments", "", 400, "merchant_a");
            AssertLine(lines, LogLevel.Information, "GET", "/v1/ops/dead-letters", "?limit=5", 200, "(operator)");
            AssertLine(lines, LogLevel.Debug, "GET", "/health/live", "", 200, "-");

            // Everything the server logged, start to stop, in every category and with the scopes it was written under.
            var all = captured.Records.ToArray();
            Assert.Contains(all, record => record.Category.StartsWith("Orleans", StringComparison.Ordinal) || record.Category.StartsWith("Microsoft", StringComparison.Ordinal));
            Assert.All(all, record => Assert.All(Forbidden, secret => Assert.DoesNotContain(secret, record.Everything, StringComparison.OrdinalIgnoreCase)));
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Server_spans_carry_the_scrubbed_path_and_query_and_nothing_of_what_was_scrubbed()
    {
        await using var collector = await OtlpCollector.StartAsync();

        var dataDirectory = TestServer.NewDataDirectory();
        try
        {
            await using (var server = await TestServer.StartAsync(dataDirectory, new Dictionary<string, string?> { ["Telemetry:OtlpEndpoint"] = collector.Address }))
            {
                using var merchant = server.CreateClient();
                using var lookup = await merchant.GetAsync(new Uri(CardInPathAndQuery, UriKind.Relative));
                Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);

                // OTLP carries strings as UTF-8 inside the protobuf, so the span of that request can be found by its route.
                await Eventually.MatchesAsync(() => Task.FromResult(Traces(collector.Received)),
                    traces => traces.Contains("/v1/payments/{paymentOrderId}", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(30), "the span of the lookup at the collector");
            }

            var traces = Traces(collector.Received);
            Assert.Contains("/v1/payments/[redacted]", traces, StringComparison.Ordinal);
            Assert.Contains(ScrubbedQuery, traces, StringComparison.Ordinal);
            var everything = string.Concat(collector.Received.Select(post => Encoding.UTF8.GetString(post.Body)));
            Assert.All(Forbidden, secret => Assert.DoesNotContain(secret, everything, StringComparison.OrdinalIgnoreCase));
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Client_spans_carry_the_scrubbed_url_without_user_info()
    {
        var address = $"http://127.0.0.1:{FreePort.Next()}";
        var receiverBuilder = WebApplication.CreateSlimBuilder();
        receiverBuilder.WebHost.UseUrls(address);
        await using var receiver = receiverBuilder.Build();
        receiver.MapGet("/hooks/{**rest}", () => Results.Ok());
        await receiver.StartAsync();

        var spans = new ConcurrentQueue<Activity>();
        using (var tracing = Sdk.CreateTracerProviderBuilder()
                   .AddHttpClientInstrumentation(SpanScrubbing.Scrub)
                   .AddProcessor(new RecordingProcessor(spans))
                   .Build())
        using (var client = new HttpClient())
        {
            var url = new Uri(address.Replace("http://", "http://user:sk_live_in_user_info@", StringComparison.Ordinal)
                + "/hooks/4242%204242%204242%204242/jane.doe%40example.com?token=sk_live_abc123&limit=5&email=jane.doe%40example.com");
            using var response = await client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Other tests in this process make HTTP calls too; ours is the one to the receiver.
        var span = Assert.Single(spans, span => (span.GetTagItem(SpanScrubbing.UrlFull) as string)?.StartsWith(address, StringComparison.Ordinal) == true);
        Assert.Equal($"{address}/hooks/[redacted]/[redacted]?token=[redacted]&limit=5&email=[redacted]", span.GetTagItem(SpanScrubbing.UrlFull));
        Assert.All(span.TagObjects, tag => Assert.DoesNotContain("sk_live", tag.Value?.ToString() ?? string.Empty, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_that_nothing_handled_is_logged_as_500_and_its_exception_goes_on()
    {
        var captured = new CapturingLoggerProvider();
        var context = new DefaultHttpContext();
        context.Request.Method = "get";
        context.Request.Path = "/v1/payments/4242424242424242";
        context.Request.QueryString = new QueryString("?starting_after=po_1");

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            RequestLog.LogAsync(context, _ => throw new InvalidOperationException("boom"), captured.CreateLogger(RequestLog.Category)));

        Assert.Equal("boom", thrown.Message);
        var line = Assert.Single(captured.Records);
        Assert.Equal(
            ("GET", "/v1/payments/[redacted]", "?starting_after=po_1", "500", "-"),
            (line.State["Method"], line.State["Path"], line.State["Query"], line.State["StatusCode"], line.State["Caller"]));
    }

    private static LogRecord[] RequestLines(CapturingLoggerProvider captured) =>
        captured.Records.Where(record => record.Category == RequestLog.Category).ToArray();

    private static void AssertLine(LogRecord[] lines, LogLevel level, string method, string path, string query, int status, string caller)
    {
        var line = Assert.Single(lines, line => line.State["Method"] == method && line.State["Path"] == path);
        Assert.Equal(level, line.Level);
        Assert.Equal(
            (query, status.ToString(System.Globalization.CultureInfo.InvariantCulture), caller),
            (line.State["Query"], line.State["StatusCode"], line.State["Caller"]));
        Assert.Matches(TraceId(), line.State["TraceId"]!);
        Assert.Matches(
            $"^{Regex.Escape($"{method} {path}{query} responded {status} in ")}[0-9]+(\\.[0-9])? ms \\(caller {Regex.Escape(caller)}, trace [0-9a-f]{{32}}\\)$",
            line.Message);
    }

    /// <summary>The levels in the shipped appsettings.json (which the test output carries), instead of the tests' quieter ones.</summary>
    private static Dictionary<string, string?> ShippedLogLevels() => new()
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Orleans"] = "Warning",
    };

    private static string Traces(IReadOnlyList<OtlpPost> received) =>
        string.Concat(received.Where(post => post.Path == "/v1/traces").Select(post => Encoding.UTF8.GetString(post.Body)));

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex TraceId();

    private sealed record LogRecord(string Category, LogLevel Level, string Message, IReadOnlyDictionary<string, string?> State, string? Exception, string Scopes)
    {
        public string Everything => string.Join('\n', Message, string.Join('\n', State.Select(pair => $"{pair.Key}={pair.Value}")), Exception, Scopes);
    }

    /// <summary>Keeps every record with its message, its structured values, its exception and its scopes.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public ConcurrentQueue<LogRecord> Records { get; } = new();

        public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class CapturingLogger(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => provider._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                    ? pairs.GroupBy(pair => pair.Key).ToDictionary(group => group.Key, group => group.Last().Value?.ToString())
                    : new Dictionary<string, string?>();
                var scopes = new StringBuilder();
                provider._scopes.ForEachScope((scope, text) => text.Append(Render(scope)).Append('\n'), scopes);
                provider.Records.Enqueue(new LogRecord(category, logLevel, formatter(state, exception), values, exception?.ToString(), scopes.ToString()));
            }

            /// <summary>
            /// A scope's values, except the RequestPath of ASP.NET Core's own request scope: that is the raw path, on every
            /// record written during the request. Our console sink does not write scopes; a sink that does (JSON console with
            /// IncludeScopes, OTLP logs) would need Microsoft.AspNetCore.Hosting.Diagnostics turned off, which is not ours to
            /// decide here.
            /// </summary>
            private static string? Render(object? scope) => scope is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(' ', pairs
                    .Where(pair => !(scope.GetType().Name == "HostingLogScope" && pair.Key == "RequestPath"))
                    .Select(pair => $"{pair.Key}={pair.Value}"))
                : scope?.ToString();
        }
    }

    private sealed class RecordingProcessor(ConcurrentQueue<Activity> spans) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data) => spans.Enqueue(data);
    }
}
