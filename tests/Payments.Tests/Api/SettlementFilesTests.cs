using System.Globalization;
using System.Net;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Payments.Psp;
using Payments.Tests.Infrastructure;
using Stripe;

namespace Payments.Tests.Api;

/// <summary>
/// <see cref="ISettlementFiles"/> as the server registers it, against the simulator: a day's itemized report and the bank's
/// statement, read as streams. What it does when the files cannot be had (nobody answers, the run fails or never ends, an
/// error answer, a file url on another host) is shown against a stub PSP, since the simulator's runs always succeed.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SettlementFilesTests(ServerFixture fixture) : IDisposable
{
    private const string Header =
        "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,automatic_payout_id,payment_metadata[payment_order_id]";

    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    public void Dispose() => _psp.Dispose();

    [Fact]
    public async Task A_charge_is_one_row_of_the_report_of_its_day()
    {
        var files = fixture.Server.Server.Services.GetRequiredService<ISettlementFiles>();
        var before = await TodayAsync();
        var intent = await new PaymentIntentService(StripeAtSimulator()).CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 12_345,
            Currency = "usd",
            PaymentMethod = "pm_card_visa",
            Confirm = true,
            Metadata = new Dictionary<string, string> { ["payment_order_id"] = Ids.New("po") },
        });
        Assert.Equal("succeeded", intent.Status);
        var after = await TodayAsync();

        // The charge is on the simulator's day it was made on; should the clock have passed midnight meanwhile, on either.
        var rows = new List<Dictionary<string, string>>();
        foreach (var day in new[] { before, after }.Distinct())
        {
            await using var report = await files.OpenSettlementReportAsync(day, CancellationToken.None);
            using var reader = new StreamReader(report, Encoding.UTF8);
            Assert.Equal(Header, await reader.ReadLineAsync());
            var columns = Header.Split(',');
            while (await reader.ReadLineAsync() is { } line)
            {
                var values = line.Split(',');
                Assert.Equal(columns.Length, values.Length);
                if (values[Array.IndexOf(columns, "payment_intent_id")] == intent.Id)
                {
                    rows.Add(columns.Zip(values).ToDictionary(pair => pair.First, pair => pair.Second, StringComparer.Ordinal));
                }
            }
        }

        var charge = Assert.Single(rows, row => row["reporting_category"] == "charge");
        Assert.Equal(("usd", "123.45"), (charge["currency"], charge["gross"]));
        Assert.Equal(12_345, (long)(decimal.Parse(charge["gross"], CultureInfo.InvariantCulture) * 100));
        Assert.Equal(intent.LatestChargeId, charge["source_id"]);
    }

    [Fact]
    public async Task The_bank_statement_of_a_day_is_camt_053_001_08()
    {
        var files = fixture.Server.Server.Services.GetRequiredService<ISettlementFiles>();

        await using var statement = await files.OpenBankStatementAsync(await TodayAsync(), CancellationToken.None);
        var document = await XDocument.LoadAsync(statement, LoadOptions.None, CancellationToken.None);

        Assert.Equal(XName.Get("Document", "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"), document.Root!.Name);
    }

    [Fact]
    public async Task A_psp_and_bank_that_nobody_answers_at_are_unavailable()
    {
        var nobody = $"http://127.0.0.1:{FreePort.Next()}";
        var files = Files(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, nobody);
        var day = DateOnly.FromDateTime(DateTime.UtcNow);

        var report = await Assert.ThrowsAsync<SettlementFileUnavailableException>(() => files.OpenSettlementReportAsync(day, CancellationToken.None));
        var statement = await Assert.ThrowsAsync<SettlementFileUnavailableException>(() => files.OpenBankStatementAsync(day, CancellationToken.None));

        Assert.Contains("could not be reached", report.Message, StringComparison.Ordinal);
        Assert.Contains("could not be reached", statement.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bank_that_answers_an_error_is_unavailable()
    {
        var files = Files(new HttpClient(), fixture.Server.PspAddress.ToString().TrimEnd('/'), bankBaseUrl: fixture.Server.PspAddress + "no_such_bank");

        var error = await Assert.ThrowsAsync<SettlementFileUnavailableException>(
            () => files.OpenBankStatementAsync(DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None));

        Assert.Contains("HTTP 404", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_run_that_fails_is_unavailable()
    {
        using var psp = new StubPsp(request => request.Method == HttpMethod.Post
            ? Json(Run("pending"))
            : Json(Run("failed", error: "The report could not be generated.")));

        var error = await Assert.ThrowsAsync<SettlementFileUnavailableException>(
            () => Files(new HttpClient(psp), StubPsp.BaseUrl).OpenSettlementReportAsync(new DateOnly(2026, 11, 20), CancellationToken.None));

        Assert.Contains("frrun_stub failed (The report could not be generated.)", error.Message, StringComparison.Ordinal);
        var create = psp.Requests[0];
        Assert.Equal("/v1/reporting/report_runs", create.Path);
        Assert.Contains("report_type=payout_reconciliation.itemized.5", create.Body, StringComparison.Ordinal);
        Assert.Contains($"parameters[interval_start]={Unix(2026, 11, 20)}", create.Body, StringComparison.Ordinal);
        Assert.Contains($"parameters[interval_end]={Unix(2026, 11, 21)}", create.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_run_still_pending_at_the_deadline_is_unavailable()
    {
        using var psp = new StubPsp(_ => Json(Run("pending")));
        var files = Files(new HttpClient(psp), StubPsp.BaseUrl, reportRunTimeout: TimeSpan.FromMilliseconds(500));

        var error = await Assert.ThrowsAsync<SettlementFileUnavailableException>(
            () => files.OpenSettlementReportAsync(new DateOnly(2026, 11, 20), CancellationToken.None));

        Assert.Contains("still pending after 0.5 s", error.Message, StringComparison.Ordinal);
        Assert.InRange(psp.Requests.Count, 2, 10);
    }

    [Fact]
    public async Task A_file_url_on_another_host_is_not_fetched()
    {
        using var psp = new StubPsp(_ => Json(Run("succeeded", url: "https://files.elsewhere.example/v1/files/file_stub/contents")));

        var error = await Assert.ThrowsAsync<SettlementFileUnavailableException>(
            () => Files(new HttpClient(psp), StubPsp.BaseUrl).OpenSettlementReportAsync(new DateOnly(2026, 11, 20), CancellationToken.None));

        Assert.Contains("not on the PSP's files host", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(psp.Requests, request => request.Path.StartsWith("/v1/files/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_report_is_handed_over_before_its_file_is_read()
    {
        var file = new EndlessCsv();
        using var psp = new StubPsp(request => request.Path == "/v1/files/file_stub/contents"
            ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(file) }
            : Json(Run("succeeded", url: StubPsp.BaseUrl + "/v1/files/file_stub/contents")));

        await using var report = await Files(new HttpClient(psp), StubPsp.BaseUrl).OpenSettlementReportAsync(new DateOnly(2026, 11, 20), CancellationToken.None);
        using var reader = new StreamReader(report, Encoding.UTF8);

        Assert.Equal(Header, await reader.ReadLineAsync());
        Assert.InRange(file.BytesRead, 1, 1024 * 1024);
        var authorization = psp.Requests.Single(request => request.Path == "/v1/files/file_stub/contents").Authorization;
        Assert.Equal("Bearer sk_test_settlement_files", authorization);
    }

    private static StripeSettlementFiles Files(HttpClient httpClient, string baseUrl, string bankBaseUrl = "", TimeSpan? reportRunTimeout = null) => new(
        httpClient,
        Options.Create(new PspOptions
        {
            BaseUrl = baseUrl,
            ApiKey = "sk_test_settlement_files",
            RequestTimeout = TimeSpan.FromSeconds(5),
            ReportRunTimeout = reportRunTimeout ?? TimeSpan.FromSeconds(30),
        }),
        Options.Create(new BankOptions { BaseUrl = bankBaseUrl }));

    private static string Run(string status, string? error = null, string? url = null) =>
        $$"""
        {
          "id": "frrun_stub", "object": "reporting.report_run", "status": "{{status}}",
          "error": {{(error is null ? "null" : $"\"{error}\"")}},
          "report_type": "payout_reconciliation.itemized.5",
          "result": {{(url is null ? "null" : $$"""{ "id": "file_stub", "object": "file", "type": "csv", "url": "{{url}}" }""")}}
        }
        """;

    private static HttpResponseMessage Json(string body) =>
        new(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private static long Unix(int year, int month, int day) => new DateTimeOffset(year, month, day, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    private StripeClient StripeAtSimulator()
    {
        var root = fixture.Server.PspAddress.ToString().TrimEnd('/');
        return new StripeClient(new StripeClientOptions { ApiKey = "sk_test_settlement_files", ApiBase = root });
    }

    private async Task<DateOnly> TodayAsync() =>
        DateOnly.FromDateTime(DateTimeOffset.Parse((await _psp.GetJsonAsync("/_sim/clock")).Str("now"), CultureInfo.InvariantCulture).UtcDateTime);

    private sealed record SeenRequest(HttpMethod Method, string Path, string Body, string? Authorization);

    /// <summary>A PSP that answers every request with <paramref name="answer"/>, and keeps what it was asked.</summary>
    private sealed class StubPsp(Func<SeenRequest, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public const string BaseUrl = "http://psp.stub.example";

        public List<SeenRequest> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? string.Empty : Uri.UnescapeDataString(await request.Content.ReadAsStringAsync(cancellationToken));
            var seen = new SeenRequest(request.Method, request.RequestUri!.AbsolutePath, body, request.Headers.Authorization?.ToString());
            lock (Requests)
            {
                Requests.Add(seen);
            }

            return answer(seen);
        }
    }

    /// <summary>A report file that never ends (a header, then the same row for ever), counting what was read of it.</summary>
    private sealed class EndlessCsv : Stream
    {
        private static readonly byte[] Start = Encoding.UTF8.GetBytes(Header + "\n");
        private static readonly byte[] Row = Encoding.UTF8.GetBytes("txn_1,2026-11-20 10:00:00,2026-11-21 00:00:00,usd,1.00,0.33,0.67,charge,ch_1,pi_1,,po_1\n");

        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => BytesRead;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var written = 0;
            while (written < count)
            {
                var source = BytesRead < Start.Length ? Start : Row;
                var at = BytesRead < Start.Length ? (int)BytesRead : (int)((BytesRead - Start.Length) % Row.Length);
                var n = Math.Min(count - written, source.Length - at);
                Array.Copy(source, at, buffer, offset + written, n);
                written += n;
                BytesRead += n;
            }

            return written;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
