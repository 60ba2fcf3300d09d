using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Reconciliation;

/// <summary>
/// The reconciliation routes of docs/api.md as an operator uses them: who may call them, what a run request or an
/// uploaded file must be, what an upload finds (and never files twice), the break queues and resolving a break. Uploads
/// made up of records of no one's date (2020) find no booking of other tests; the one built on real payments filters
/// the breaks that other tests' bookings give.
/// </summary>
[Collection(ReconciliationServerCollection.Name)]
public sealed class ReconciliationApiTests(ReconciliationServerFixture fixture)
{
    private const string Header =
        "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,automatic_payout_id,payment_metadata[payment_order_id]";

    private const string CsvType = "text/csv; charset=utf-8";

    private readonly HttpClient _anonymous = fixture.Server.CreateClient(apiKey: null);
    private readonly HttpClient _unknownKey = fixture.Server.CreateClient("sk_test_nobody_has_this_key");
    private readonly HttpClient _merchant = fixture.Server.CreateClient(TestServer.MerchantKey);
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    // ---------------------------------------------------------------------------------------------------------------
    // 1. Auth
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Every_route_needs_an_operator_key_401_without_one_403_with_a_merchant_key()
    {
        var before = await StoredAsync();
        foreach (var client in new[] { _anonymous, _unknownKey, _merchant })
        {
            var (status, code) = client == _merchant ? (HttpStatusCode.Forbidden, "forbidden") : (HttpStatusCode.Unauthorized, "unauthorized");
            foreach (var call in Routes())
            {
                using var response = await call(client);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == status, $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: expected {(int)status}, got {(int)response.StatusCode} {body}");
                Assert.Equal("application/problem+json", response.ContentType()?.MediaType);
                Assert.Equal(code, JsonDocument.Parse(body).RootElement.Str("code"));
            }
        }

        // Refused callers changed nothing (the run request and the resolve were valid ones).
        Assert.Equal(before, await StoredAsync());

        // The operator's key opens every route.
        using (var started = await _operator.PostJsonAsync("/v1/reconciliation/runs", new { source = "psp", settlement_date = "2020-01-01" }, Ids.New("key")))
        {
            var created = await started.JsonAsync();
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            Assert.Equal("RUNNING", created.Str("status"));
            var run = await _operator.FinishedRunAsync(created.Str("run_id"));
            Assert.Equal(("SUCCEEDED", "psp", "2020-01-01", 0L, 0L), (run.Str("status"), run.Str("source"), run.Str("date"), run.Long("lines"), run.Long("matched")));
            Assert.Equal((0L, 0L, 0L), Counts(run));
            Assert.Empty(await _operator.RunBreaksAsync(created.Str("run_id")));
        }

        using (var started = await _operator.PostJsonAsync("/v1/reconciliation/runs", new { source = "bank", statement_date = "2020-01-01" }, Ids.New("key")))
        {
            var created = await started.JsonAsync();
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            var run = await _operator.FinishedRunAsync(created.Str("run_id"));
            Assert.Equal(("SUCCEEDED", "bank", "2020-01-01", 0L, 0L), (run.Str("status"), run.Str("source"), run.Str("date"), run.Long("lines"), run.Long("matched")));
            Assert.Equal((0L, 0L, 0L), Counts(run));
        }

        var page = await _operator.GetJsonAsync("/v1/reconciliation/breaks");
        Assert.Equal(JsonValueKind.Array, page.GetProperty("breaks").ValueKind);
        await AssertProblemAsync(await _operator.GetAsync("/v1/reconciliation/runs/recon_nosuchrun"), HttpStatusCode.NotFound, "resource_missing");
        await AssertProblemAsync(await _operator.GetAsync("/v1/reconciliation/runs/recon_nosuchrun/breaks"), HttpStatusCode.NotFound, "resource_missing");
        await AssertProblemAsync(
            await _operator.PostJsonAsync("/v1/reconciliation/breaks/brk_nosuchbreak/resolve", new { resolution = "written_off" }, Ids.New("key")),
            HttpStatusCode.NotFound, "resource_missing");
    }

    private static IEnumerable<Func<HttpClient, Task<HttpResponseMessage>>> Routes() =>
    [
        client => client.PostJsonAsync("/v1/reconciliation/runs", new { source = "psp", settlement_date = "2020-01-01" }, Ids.New("key")),
        client => PostFileAsync(client, Csv(Line(Ids.New("txn"), "2020-01-01 10:00:00", "usd", "1.00", "charge", Ids.New("po_nobody"))), CsvType, Ids.New("key")),
        client => client.GetAsync("/v1/reconciliation/runs/recon_nosuchrun"),
        client => client.GetAsync("/v1/reconciliation/runs/recon_nosuchrun/breaks"),
        client => client.GetAsync("/v1/reconciliation/breaks?class=INVESTIGATE"),
        client => client.PostJsonAsync("/v1/reconciliation/breaks/brk_nosuchbreak/resolve", new { resolution = "written_off", note = "n" }, Ids.New("key")),
    ];

    // ---------------------------------------------------------------------------------------------------------------
    // 2. Run requests that are refused
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_run_request_without_key_with_bad_fields_or_of_another_media_type_is_refused_and_changes_nothing()
    {
        var before = await StoredAsync();

        await AssertProblemAsync(await _operator.PostJsonAsync("/v1/reconciliation/runs", new { source = "psp", settlement_date = "2020-01-01" }, idempotencyKey: null),
            HttpStatusCode.BadRequest, "idempotency_key_missing");
        await AssertProblemAsync(await PostFileAsync(_operator, Csv(Line(Ids.New("txn"), "2020-01-01 10:00:00", "usd", "1.00", "charge", Ids.New("po_nobody"))), CsvType, null),
            HttpStatusCode.BadRequest, "idempotency_key_missing");

        await AssertInvalidFieldsAsync("{}", "source", "settlement_date");
        await AssertInvalidFieldsAsync("[]", "source");
        await AssertInvalidFieldsAsync("""{"source":"ach","settlement_date":"2026-11-20"}""", "source");
        await AssertInvalidFieldsAsync("""{"source":"PSP","settlement_date":"2026-11-20"}""", "source");
        await AssertInvalidFieldsAsync("""{"source":"psp"}""", "settlement_date");
        await AssertInvalidFieldsAsync("""{"source":"bank"}""", "statement_date");
        await AssertInvalidFieldsAsync("""{"source":"psp","settlement_date":"2026-02-30"}""", "settlement_date");
        await AssertInvalidFieldsAsync("""{"source":"psp","settlement_date":"20-11-2026"}""", "settlement_date");
        await AssertInvalidFieldsAsync("""{"source":"psp","settlement_date":"2026-11-20T00:00:00Z"}""", "settlement_date");
        await AssertInvalidFieldsAsync("""{"source":"psp","settlement_date":20261120}""", "settlement_date");
        await AssertInvalidFieldsAsync("""{"source":"bank","statement_date":"2026-13-01"}""", "statement_date");
        // The other source's date field: the date the source needs is missing; given as well, the other is named.
        await AssertInvalidFieldsAsync("""{"source":"psp","statement_date":"2026-11-20"}""", "settlement_date", "statement_date");
        await AssertInvalidFieldsAsync("""{"source":"bank","settlement_date":"2026-11-20"}""", "statement_date", "settlement_date");
        await AssertInvalidFieldsAsync("""{"source":"psp","settlement_date":"2026-11-20","statement_date":"2026-11-20"}""", "statement_date");
        await AssertInvalidFieldsAsync("""{"source":"bank","statement_date":"2026-11-20","settlement_date":"2026-11-20"}""", "settlement_date");

        await AssertProblemAsync(await PostFileAsync(_operator, "source=psp&settlement_date=2026-11-20", "text/plain", Ids.New("key")),
            HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await AssertProblemAsync(await PostFileAsync(_operator, "source=psp", "application/x-www-form-urlencoded", Ids.New("key")),
            HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await AssertProblemAsync(await PostFileAsync(_operator, "{\"source\":", "application/json", Ids.New("key")),
            HttpStatusCode.BadRequest, "invalid_json");

        Assert.Equal(before, await StoredAsync());
    }

    private async Task AssertInvalidFieldsAsync(string json, params string[] fields)
    {
        var problem = await AssertProblemAsync(await _operator.PostRawAsync("/v1/reconciliation/runs", json, Ids.New("key")), HttpStatusCode.BadRequest, "validation_failed");
        var named = problem.GetProperty("errors").EnumerateObject().Select(error => error.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.True(fields.Order(StringComparer.Ordinal).SequenceEqual(named), $"{json}: expected errors for [{string.Join(", ", fields)}], got {problem}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 3. An uploaded settlement report: what it finds, replays, reruns
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task An_uploaded_report_finds_each_break_once_replays_by_key_and_a_rerun_lists_the_same_breaks()
    {
        // A day of its own at the PSP: two real payments, the day ended (its payout made) and reconciled as the PSP
        // reports it, so that the day's settlement is booked and later bank statements find it.
        await _psp.EndPspDayAsync();
        var day = await _psp.PspTodayAsync();
        var seller = Ids.New("seller");
        var first = await _merchant.PayAsync(seller, "10.00");
        var second = await _merchant.PayAsync(seller, "20.00");
        await _operator.WaitForPayInsAsync(first, second);
        await _psp.EndPspDayAsync();
        var reported = await _operator.ReconcileAsync("psp", day);
        Assert.Equal("SUCCEEDED", reported.Str("status"));
        Assert.DoesNotContain(await _operator.RunBreaksAsync(reported.Str("run_id")), found => Nullable(found, "payment_order_id") is { } order && (order == first || order == second));

        var report = await PspReportAsync(day);
        var firstRow = Assert.Single(report, row => row["payment_metadata[payment_order_id]"] == first && row["reporting_category"] == "charge");
        var secondRow = Assert.Single(report, row => row["payment_metadata[payment_order_id]"] == second && row["reporting_category"] == "charge");
        Assert.Equal(("10.00", "20.00"), (firstRow["gross"], secondRow["gross"]));
        var created = DateTime.ParseExact(firstRow["created_utc"], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        var later = created.AddSeconds(1);
        Assert.Equal(day, DateOnly.FromDateTime(later));
        var secondCharge = Ids.New("txn_second");
        var nobody = Ids.New("po_nobody");
        var nobodyCharge = Ids.New("txn_nobody");

        string[] rows =
        [
            // 1: the first order's charge as the PSP reports it: agrees with our pay-in.
            Row(firstRow),
            // 2: a second charge for the first order (another balance transaction): a duplicate.
            Line(secondCharge, Time(later), "usd", "10.00", "charge", first, fee: "0.59", net: "9.41", source: "ch_" + secondCharge, intent: "pi_" + secondCharge),
            // 3: the second order's charge, a cent more than we booked.
            Row(secondRow, gross: "20.01", net: (decimal.Parse(secondRow["net"], CultureInfo.InvariantCulture) + 0.01m).ToString("0.00", CultureInfo.InvariantCulture)),
            // 4: a charge of an order we never had.
            Line(nobodyCharge, Time(created), "usd", "5.00", "charge", nobody, fee: "0.45", net: "4.55", source: "ch_" + nobodyCharge, intent: "pi_" + nobodyCharge),
            // 5: the first charge's balance transaction again, in the same report.
            Row(firstRow),
        ];
        var file = Csv(rows);
        var key = Ids.New("key");
        var before = await StoredAsync();
        using var started = await PostFileAsync(_operator, file, CsvType, key);
        var startedBody = await started.Content.ReadAsStringAsync();
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, startedBody);
        Assert.False(started.Headers.Contains("Idempotent-Replayed"));
        var createdRun = JsonDocument.Parse(startedBody).RootElement;
        var runId = createdRun.Str("run_id");
        Assert.Equal("RUNNING", createdRun.Str("status"));
        var staged = await StoredAsync();
        Assert.Equal((before.Runs + 1, before.SettlementLines + 5), (staged.Runs, staged.SettlementLines));

        var run = await _operator.FinishedRunAsync(runId);
        Assert.Equal(("SUCCEEDED", "psp", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), (run.Str("status"), run.Str("source"), run.Str("date")));
        Assert.Equal(runId, run.Str("run_id"));
        Assert.Equal(JsonValueKind.String, run.GetProperty("finished_at").ValueKind);
        // Five rows; the first charge (listed twice, counted once) and the second charge of the same money agree with the pay-in.
        Assert.Equal((5L, 2L), (run.Long("lines"), run.Long("matched")));

        var ours = new HashSet<string>(StringComparer.Ordinal) { first, second, nobody };
        var found = await _operator.RunBreaksAsync(runId);
        var mine = found.Where(candidate => Nullable(candidate, "payment_order_id") is { } order && ours.Contains(order)).ToArray();
        var others = found.Except(mine).ToArray();
        // What else the run found are other tests' bookings that no report has shown (the fixture has no lag).
        Assert.All(others, other => Assert.Equal(("missing_in_settlement", "MANUAL_REVIEW"), (other.Str("kind"), other.Str("class"))));
        Assert.Equal((0L, 1L + others.Length, 3L), Counts(run));
        Assert.Equal(4, mine.Length);
        Assert.All(mine, one => Assert.Equal((runId, "psp", "open"), (one.Str("run_id"), one.Str("source"), one.Str("status"))));
        Assert.All(mine, one => Assert.Equal(JsonValueKind.Null, one.GetProperty("resolution").ValueKind));
        Assert.All(mine, one => Assert.Equal(JsonValueKind.Null, one.GetProperty("payout_id").ValueKind));

        var duplicateCharge = Assert.Single(mine, one => one.Str("kind") == "duplicate_in_settlement" && one.GetProperty("theirs").Str("balance_transaction_id") == secondCharge);
        Assert.Equal(("INVESTIGATE", first), (duplicateCharge.Str("class"), duplicateCharge.Str("payment_order_id")));
        Assert.Equal(JsonValueKind.Null, duplicateCharge.GetProperty("ours").ValueKind);
        Assert.Equal((firstRow["balance_transaction_id"], first), (duplicateCharge.GetProperty("theirs").Str("first_charge"), duplicateCharge.GetProperty("theirs").Str("payment_order_id")));

        var duplicateLine = Assert.Single(mine, one => one.Str("kind") == "duplicate_in_settlement" && one.GetProperty("theirs").Str("balance_transaction_id") == firstRow["balance_transaction_id"]);
        Assert.Equal(("INVESTIGATE", first), (duplicateLine.Str("class"), duplicateLine.Str("payment_order_id")));
        var copies = duplicateLine.GetProperty("theirs");
        Assert.Equal((2L, 1000L, "USD"), (copies.Long("copies"), copies.Long("gross"), copies.Str("currency")));
        Assert.Equal([1L, 5L], copies.GetProperty("line_numbers").EnumerateArray().Select(number => number.GetInt64()));

        var mismatch = Assert.Single(mine, one => one.Str("kind") == "amount_mismatch");
        Assert.Equal(("MANUAL_REVIEW", second), (mismatch.Str("class"), mismatch.Str("payment_order_id")));
        Assert.Equal((2000L, "USD", "payin:" + second, "payin"),
            (mismatch.GetProperty("ours").Long("amount"), mismatch.GetProperty("ours").Str("currency"), mismatch.GetProperty("ours").Str("external_id"), mismatch.GetProperty("ours").Str("kind")));
        Assert.Equal((2001L, "USD", secondRow["balance_transaction_id"], "charge"),
            (mismatch.GetProperty("theirs").Long("gross"), mismatch.GetProperty("theirs").Str("currency"), mismatch.GetProperty("theirs").Str("balance_transaction_id"), mismatch.GetProperty("theirs").Str("reporting_category")));

        var missing = Assert.Single(mine, one => one.Str("kind") == "missing_in_ledger");
        Assert.Equal(("INVESTIGATE", nobody), (missing.Str("class"), missing.Str("payment_order_id")));
        Assert.Equal(JsonValueKind.Null, missing.GetProperty("ours").ValueKind);
        Assert.Equal((500L, 45L, 455L, nobodyCharge, "ch_" + nobodyCharge),
            (missing.GetProperty("theirs").Long("gross"), missing.GetProperty("theirs").Long("fee"), missing.GetProperty("theirs").Long("net"),
             missing.GetProperty("theirs").Str("balance_transaction_id"), missing.GetProperty("theirs").Str("source_id")));

        // The same key and file: the first answer, byte for byte, and no second run.
        var afterFirst = await StoredAsync();
        using (var replayed = await PostFileAsync(_operator, file, CsvType, key))
        {
            Assert.Equal(HttpStatusCode.Accepted, replayed.StatusCode);
            Assert.Equal(startedBody, await replayed.Content.ReadAsStringAsync());
            Assert.Equal("true", Assert.Single(replayed.Headers.GetValues("Idempotent-Replayed")));
        }

        Assert.Equal(afterFirst, await StoredAsync());

        // The same key with another file: refused, and nothing of that file kept.
        await AssertProblemAsync(await PostFileAsync(_operator, Csv(rows[..4]), CsvType, key), HttpStatusCode.UnprocessableEntity, "idempotency_key_reused");
        Assert.Equal(afterFirst, await StoredAsync());

        // The same file with a new key: a new run that finds the same breaks, filed by the first run, not twice.
        using var again = await PostFileAsync(_operator, file, CsvType, Ids.New("key"));
        var againBody = await again.JsonAsync();
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        var rerunId = againBody.Str("run_id");
        Assert.NotEqual(runId, rerunId);
        var rerun = await _operator.FinishedRunAsync(rerunId);
        Assert.Equal(("SUCCEEDED", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), 5L, 2L), (rerun.Str("status"), rerun.Str("date"), rerun.Long("lines"), rerun.Long("matched")));
        Assert.Equal(Counts(run), Counts(rerun));
        var refound = (await _operator.RunBreaksAsync(rerunId)).Where(candidate => Nullable(candidate, "payment_order_id") is { } order && ours.Contains(order)).ToArray();
        Assert.Equal(mine.Select(one => one.Str("break_id")).Order(StringComparer.Ordinal), refound.Select(one => one.Str("break_id")).Order(StringComparer.Ordinal));
        Assert.All(refound, one => Assert.Equal((runId, "open"), (one.Str("run_id"), one.Str("status"))));
        Assert.Equal(afterFirst.Breaks, (await StoredAsync()).Breaks);
        Assert.Equal(4, (await BreaksAsync($"run_id={runId}&limit=1000")).Count(candidate => Nullable(candidate, "payment_order_id") is { } order && ours.Contains(order)));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 4. Malformed files, and statements read
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_malformed_report_or_statement_is_400_invalid_statement_and_stores_nothing()
    {
        var good = Line(Ids.New("txn"), "2020-01-04 10:00:00", "usd", "1.00", "charge", Ids.New("po_nobody"));
        var noGrossHeader = Header.Replace(",gross,", ",", StringComparison.Ordinal);
        var noGrossRow = string.Join(',', good.Split(',').Where((_, index) => index != 4));
        var fixture = StatementFixtures.ReadText("camt053.v2.multi.statement.xml");
        var withoutAmount = new Regex("""(<Ntry>\s*)<Amt Ccy="EUR">7\.00</Amt>""").Replace(fixture, "$1", 1);
        Assert.NotEqual(fixture, withoutAmount);
        var withoutIndicator = new Regex("""(<Amt Ccy="EUR">7\.00</Amt>\s*)<CdtDbtInd>DBIT</CdtDbtInd>""").Replace(fixture, "$1", 1);
        Assert.NotEqual(fixture, withoutIndicator);
        var withoutCurrency = fixture.Replace("""<Amt Ccy="EUR">7.00</Amt>""", "<Amt>7.00</Amt>", StringComparison.Ordinal);
        var inexact = fixture.Replace("""<Amt Ccy="EUR">7.00</Amt>""", """<Amt Ccy="EUR">7.005</Amt>""", StringComparison.Ordinal);
        Assert.NotEqual(fixture, inexact);

        (string Name, string Body, string ContentType)[] malformed =
        [
            ("a report without a gross column", noGrossHeader + "\n" + noGrossRow + "\n", CsvType),
            ("a report of half cents", Csv(Line(Ids.New("txn"), "2020-01-04 10:00:00", "usd", "12.345", "charge", Ids.New("po_nobody"), fee: "0.00", net: "12.345")), CsvType),
            ("a report in an unknown currency", Csv(good, Line(Ids.New("txn"), "2020-01-04 10:00:00", "xyz", "1.00", "charge", Ids.New("po_nobody"))), CsvType),
            ("a report with an unclosed quote", Csv(good) + "\"" + Line(Ids.New("txn"), "2020-01-04 10:00:00", "usd", "1.00", "charge", Ids.New("po_nobody")) + "\n", CsvType),
            ("a report with a row of too few fields", Csv(good, "txn_short,2020-01-04 10:00:00,,usd,1.00"), CsvType),
            ("a report with an unreadable time", Csv(Line(Ids.New("txn"), "04/01/2020 10:00", "usd", "1.00", "charge", Ids.New("po_nobody"))), "text/csv"),
            ("an empty file", string.Empty, CsvType),
            ("a statement cut short", fixture[..(fixture.Length * 3 / 4)], "application/xml"),
            ("a statement of mismatched tags", fixture.Replace("</Ntry>", "</Entry>", StringComparison.Ordinal), "application/xml"),
            ("a payment initiation, not a statement", fixture.Replace("camt.053.001.02", "pain.001.001.03", StringComparison.Ordinal), "application/xml"),
            ("an account report (camt.052)", fixture.Replace("camt.053.001.02", "camt.052.001.02", StringComparison.Ordinal), "application/xml; charset=utf-8"),
            ("a camt.053 version not read", fixture.Replace("camt.053.001.02", "camt.053.001.09", StringComparison.Ordinal), "application/xml"),
            ("a statement with an entry without amount", withoutAmount, "application/xml"),
            ("a statement with an entry without credit/debit indicator", withoutIndicator, "application/xml"),
            ("a statement with an amount without currency", withoutCurrency, "application/xml"),
            ("a statement with an inexact amount", inexact, "application/xml"),
            ("a report sent as a statement", Csv(good), "application/xml"),
        ];

        var before = await StoredAsync();
        foreach (var (name, body, contentType) in malformed)
        {
            using var response = await PostFileAsync(_operator, body, contentType, Ids.New("key"));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name}: expected 400, got {(int)response.StatusCode} {text}");
            Assert.Equal("application/problem+json", response.ContentType()?.MediaType);
            var problem = JsonDocument.Parse(text).RootElement;
            Assert.True(problem.Str("code") == "invalid_statement", $"{name}: {text}");
            Assert.Equal(400, problem.GetProperty("status").GetInt32());
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            Assert.True(before == await StoredAsync(), $"{name} left something stored");
        }

        Assert.Empty(await BreaksAsync("class=INVESTIGATE&status=open&payment_order_id=" + good.Split(',')[^1]));
    }

    [Fact]
    public async Task An_uploaded_statement_of_another_account_is_read_and_each_of_its_entries_is_unknown()
    {
        // The fixture with statement ids of this test's own, so that its breaks are this run's.
        var statementIds = (Ids.New("stmt"), Ids.New("stmt"));
        var statement = StatementFixtures.ReadText("camt053.v2.multi.statement.xml")
            .Replace("<Id>253EURNL26VAYB8060476890</Id>", $"<Id>{statementIds.Item1}</Id>", StringComparison.Ordinal)
            .Replace("<Id>254EURNL26VAYB8060476890</Id>", $"<Id>{statementIds.Item2}</Id>", StringComparison.Ordinal);
        Assert.Equal(2, Regex.Matches(statement, "<Ntry>").Count);
        var before = await StoredAsync();

        using var started = await PostFileAsync(_operator, statement, "application/xml", Ids.New("key"));
        var created = await started.JsonAsync();
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal("RUNNING", created.Str("status"));
        var runId = created.Str("run_id");
        var run = await _operator.FinishedRunAsync(runId);
        Assert.Equal(("SUCCEEDED", "bank", "2015-03-10", 2L, 0L), (run.Str("status"), run.Str("source"), run.Str("date"), run.Long("lines"), run.Long("matched")));
        Assert.Equal((0L, 0L, 2L), Counts(run));

        var found = await _operator.RunBreaksAsync(runId);
        Assert.Equal(2, found.Length);
        Assert.All(found, entry => Assert.Equal(("unknown_bank_entry", "INVESTIGATE", "open", runId, "bank"),
            (entry.Str("kind"), entry.Str("class"), entry.Str("status"), entry.Str("run_id"), entry.Str("source"))));
        Assert.All(found, entry => Assert.Equal((JsonValueKind.Null, JsonValueKind.Null, JsonValueKind.Null),
            (entry.GetProperty("payment_order_id").ValueKind, entry.GetProperty("payout_id").ValueKind, entry.GetProperty("ours").ValueKind)));
        Assert.Equal(
            [(statementIds.Item1, 885L, "EUR", "NL26VAYB8060476890", "000000001"), (statementIds.Item2, -700L, "EUR", "NL26VAYB8060476890", "000000002")],
            found.Select(entry => entry.GetProperty("theirs"))
                .Select(theirs => (theirs.Str("statement_id"), theirs.Long("amount"), theirs.Str("currency"), theirs.Str("account"), theirs.Str("end_to_end_id")))
                .OrderBy(entry => entry.Item5, StringComparer.Ordinal));
        var after = await StoredAsync();
        Assert.Equal((before.Runs + 1, before.BankEntries + 2, before.Breaks + 2, before.BankEntriesSeen), (after.Runs, after.BankEntries, after.Breaks, after.BankEntriesSeen));
    }

    [Fact]
    public async Task Uploads_are_taken_as_text_or_application_csv_and_xml_with_or_without_a_charset()
    {
        foreach (var type in new[] { "text/csv", "application/csv", "application/csv; charset=utf-8", "TEXT/CSV; charset=UTF-8" })
        {
            var order = Ids.New("po_nobody");
            using var started = await PostFileAsync(_operator, Csv(Line(Ids.New("txn"), "2020-01-11 08:00:00", "usd", "2.50", "other_adjustment", order)), type, Ids.New("key"));
            var body = await started.Content.ReadAsStringAsync();
            Assert.True(started.StatusCode == HttpStatusCode.Accepted, $"{type}: {(int)started.StatusCode} {body}");
            var run = await _operator.FinishedRunAsync(JsonDocument.Parse(body).RootElement.Str("run_id"));
            Assert.Equal(("SUCCEEDED", "psp", "2020-01-11", 1L, 0L), (run.Str("status"), run.Str("source"), run.Str("date"), run.Long("lines"), run.Long("matched")));
            Assert.Equal((0L, 0L, 1L), Counts(run));
            var found = Assert.Single(await _operator.RunBreaksAsync(run.Str("run_id")));
            Assert.Equal(("missing_in_ledger", "INVESTIGATE", order, 250L), (found.Str("kind"), found.Str("class"), found.Str("payment_order_id"), found.GetProperty("theirs").Long("gross")));
        }

        foreach (var type in new[] { "application/xml; charset=utf-8", "text/xml", "text/xml; charset=utf-8" })
        {
            // .001.08, its amount with a zero more than EUR has: 8.850 is 885 cents.
            var reference = Ids.New("ref");
            var v8 = StatementFixtures.ReadText("camt053.v8.xml")
                .Replace("AAAASESS-FP-CN_98765/01", reference, StringComparison.Ordinal)
                .Replace("""<Amt Ccy="EUR">8.85</Amt>""", """<Amt Ccy="EUR">8.850</Amt>""", StringComparison.Ordinal);
            Assert.Contains("8.850", v8, StringComparison.Ordinal);
            using var v8Started = await PostFileAsync(_operator, v8, type, Ids.New("key"));
            var v8Created = await v8Started.JsonAsync();
            Assert.True(v8Started.StatusCode == HttpStatusCode.Accepted, $"{type}: {(int)v8Started.StatusCode} {v8Created}");
            var v8Run = await _operator.FinishedRunAsync(v8Created.Str("run_id"));
            Assert.Equal(("SUCCEEDED", "bank", "2015-03-10", 1L, 0L), (v8Run.Str("status"), v8Run.Str("source"), v8Run.Str("date"), v8Run.Long("lines"), v8Run.Long("matched")));
            Assert.Equal((0L, 0L, 1L), Counts(v8Run));
            var entry = Assert.Single(await _operator.RunBreaksAsync(v8Created.Str("run_id")));
            Assert.Equal(("unknown_bank_entry", "INVESTIGATE", 885L, "EUR", reference),
                (entry.Str("kind"), entry.Str("class"), entry.GetProperty("theirs").Long("amount"), entry.GetProperty("theirs").Str("currency"), entry.GetProperty("theirs").Str("account_servicer_reference")));
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 5. The break queues
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Breaks_are_listed_oldest_first_by_class_status_order_and_run_and_paged()
    {
        var tag = Guid.NewGuid().ToString("N")[..12];
        var orders = Enumerable.Range(1, 4).Select(n => $"po_nobody_{tag}_{n}").ToArray();
        var charges = Enumerable.Range(1, 4).Select(n => $"txn_{tag}_{n}").ToArray();
        // Adjustments we never book (INVESTIGATE), and a bounced refund of no order (MANUAL_REVIEW).
        var file = Csv(
            // Amounts with more decimals than USD has are taken when exact; the currency's case does not matter.
            Line(charges[0], "2020-01-06 09:00:00", "USD", "5.000", "other_adjustment", orders[0], fee: "0.000", net: "5.000"),
            Line(charges[1], "2020-01-06 10:00:00", "usd", "6.00", "other_adjustment", orders[1]),
            // The latest day of the file is the run's date, wherever its row is.
            Line(charges[3], "2020-01-08 23:59:59", "usd", "-2.00", "refund_failure", paymentOrderId: null),
            Line(charges[2], "2020-01-07 10:00:00", "Usd", "7.00", "other_adjustment", orders[2]));
        var (runId, run) = await UploadAndFinishAsync(file);
        Assert.Equal(("SUCCEEDED", "2020-01-08", 4L, 0L), (run.Str("status"), run.Str("date"), run.Long("lines"), run.Long("matched")));
        Assert.Equal((0L, 1L, 3L), Counts(run));

        var all = await BreaksAsync($"run_id={runId}");
        Assert.Equal(
            [("missing_in_ledger", "INVESTIGATE", orders[0]), ("missing_in_ledger", "INVESTIGATE", orders[1]), ("missing_in_ledger", "INVESTIGATE", orders[2]), ("status_mismatch", "MANUAL_REVIEW", null)],
            all.Select(found => (found.Str("kind"), found.Str("class"), Nullable(found, "payment_order_id"))));
        Assert.Equal(charges, all.Select(found => found.GetProperty("theirs").Str("balance_transaction_id")));
        Assert.Equal([500L, 600L, 700L, -200L], all.Select(found => found.GetProperty("theirs").Long("gross")));
        Assert.Equal(all.Select(Id), (await _operator.RunBreaksAsync(runId)).Select(Id));
        var ids = all.Select(Id).ToArray();

        Assert.Equal(ids[..3], (await BreaksAsync($"run_id={runId}&class=INVESTIGATE")).Select(Id));
        Assert.Equal(ids[3..], (await BreaksAsync($"run_id={runId}&class=MANUAL_REVIEW")).Select(Id));
        Assert.Empty(await BreaksAsync($"run_id={runId}&class=AUTO_FIXED"));
        Assert.Equal(ids, (await BreaksAsync($"run_id={runId}&status=open")).Select(Id));
        Assert.Empty(await BreaksAsync($"run_id={runId}&status=resolved"));
        Assert.Equal(ids[1..2], (await BreaksAsync($"payment_order_id={orders[1]}")).Select(Id));
        Assert.Equal(ids[2..3], (await BreaksAsync($"payment_order_id={orders[2]}&class=INVESTIGATE&status=open&run_id={runId}")).Select(Id));
        Assert.Empty(await BreaksAsync($"payment_order_id={orders[2]}&class=MANUAL_REVIEW"));
        Assert.Empty(await BreaksAsync($"payment_order_id={orders[2]}&status=resolved"));
        Assert.Empty(await BreaksAsync("payment_order_id=po_nobody_ever_had_this"));
        Assert.Empty(await BreaksAsync("run_id=recon_nosuchrun"));
        Assert.Equal(ids[3..], (await _operator.GetJsonAsync($"/v1/reconciliation/runs/{runId}/breaks?class=MANUAL_REVIEW")).GetProperty("breaks").EnumerateArray().Select(Id));
        // Unfiltered: the queue holds them, in the same order, among the others.
        Assert.Equal(ids[1..], (await BreaksAsync($"starting_after={ids[0]}&limit=1000")).Select(Id));

        // Pages: limit, then starting_after the last of a page.
        var pageOne = await _operator.GetJsonAsync($"/v1/reconciliation/breaks?run_id={runId}&limit=2");
        Assert.Equal(ids[..2], pageOne.GetProperty("breaks").EnumerateArray().Select(Id));
        Assert.True(pageOne.GetProperty("has_more").GetBoolean());
        var pageTwo = await _operator.GetJsonAsync($"/v1/reconciliation/breaks?run_id={runId}&limit=2&starting_after={ids[1]}");
        Assert.Equal(ids[2..], pageTwo.GetProperty("breaks").EnumerateArray().Select(Id));
        Assert.False(pageTwo.GetProperty("has_more").GetBoolean());
        var three = await _operator.GetJsonAsync($"/v1/reconciliation/breaks?run_id={runId}&limit=3");
        Assert.Equal((3, true), (three.GetProperty("breaks").GetArrayLength(), three.GetProperty("has_more").GetBoolean()));
        var four = await _operator.GetJsonAsync($"/v1/reconciliation/breaks?run_id={runId}&limit=4");
        Assert.Equal((4, false), (four.GetProperty("breaks").GetArrayLength(), four.GetProperty("has_more").GetBoolean()));
        var last = await _operator.GetJsonAsync($"/v1/reconciliation/runs/{runId}/breaks?limit=1&starting_after={ids[2]}");
        Assert.Equal(ids[3..], last.GetProperty("breaks").EnumerateArray().Select(Id));
        Assert.False(last.GetProperty("has_more").GetBoolean());
        var pastTheEnd = await _operator.GetJsonAsync($"/v1/reconciliation/breaks?run_id={runId}&starting_after={ids[3]}");
        Assert.Equal((0, false), (pastTheEnd.GetProperty("breaks").GetArrayLength(), pastTheEnd.GetProperty("has_more").GetBoolean()));
        Assert.Equal(4, (await BreaksAsync($"run_id={runId}&limit=1000")).Length);

        foreach (var (query, field) in new[]
                 {
                     ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=-1", "limit"), ("limit=ten", "limit"), ("limit=2.5", "limit"),
                     ("class=BOGUS", "class"), ("class=investigate", "class"), ("status=closed", "status"), ("status=OPEN", "status"),
                 })
        {
            var problem = await AssertProblemAsync(await _operator.GetAsync($"/v1/reconciliation/breaks?{query}"), HttpStatusCode.BadRequest, "validation_failed");
            Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(error => error.Name));
            await AssertProblemAsync(await _operator.GetAsync($"/v1/reconciliation/runs/{runId}/breaks?{query}"), HttpStatusCode.BadRequest, "validation_failed");
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 6. Resolving
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_break_is_resolved_once_and_a_rerun_does_not_reopen_it()
    {
        var order = Ids.New("po_nobody");
        var charge = Ids.New("txn");
        var file = Csv(Line(charge, "2020-01-09 12:00:00", "usd", "3.00", "other_adjustment", order));
        var (runId, run) = await UploadAndFinishAsync(file);
        Assert.Equal((0L, 0L, 1L), Counts(run));
        var open = Assert.Single(await _operator.RunBreaksAsync(runId));
        var breakId = open.Str("break_id");
        Assert.Equal(("missing_in_ledger", "INVESTIGATE", "open", order), (open.Str("kind"), open.Str("class"), open.Str("status"), open.Str("payment_order_id")));
        var path = $"/v1/reconciliation/breaks/{breakId}/resolve";

        // Refusals change nothing.
        await AssertProblemAsync(await _operator.PostJsonAsync(path, new { resolution = "written_off", note = "n" }, idempotencyKey: null), HttpStatusCode.BadRequest, "idempotency_key_missing");
        foreach (var (body, field) in new[]
                 {
                     ("""{"resolution":"forgiven","note":"n"}""", "resolution"),
                     ("""{"resolution":"auto_fixed"}""", "resolution"),
                     ("""{"resolution":"WRITTEN_OFF"}""", "resolution"),
                     ("""{"note":"no resolution"}""", "resolution"),
                     ("""{"resolution":7}""", "resolution"),
                     ("{}", "resolution"),
                     ("""{"resolution":"written_off","note":12}""", "note"),
                     ($$"""{"resolution":"written_off","note":"{{new string('x', 2001)}}"}""", "note"),
                 })
        {
            var problem = await AssertProblemAsync(await _operator.PostRawAsync(path, body, Ids.New("key")), HttpStatusCode.BadRequest, "validation_failed");
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{body}: {problem}");
        }

        await AssertProblemAsync(await _operator.PostJsonAsync("/v1/reconciliation/breaks/brk_nosuchbreak/resolve", new { resolution = "written_off" }, Ids.New("key")),
            HttpStatusCode.NotFound, "resource_missing");
        Assert.Equal("open", Assert.Single(await _operator.RunBreaksAsync(runId)).Str("status"));

        var key = Ids.New("key");
        var resolution = new { resolution = "written_off", note = "The buyer was refunded by hand." };
        using var resolved = await _operator.PostJsonAsync(path, resolution, key);
        var resolvedText = await resolved.Content.ReadAsStringAsync();
        Assert.True(resolved.StatusCode == HttpStatusCode.OK, resolvedText);
        var closed = JsonDocument.Parse(resolvedText).RootElement;
        Assert.Equal((breakId, runId, "missing_in_ledger", "INVESTIGATE", order), (closed.Str("break_id"), closed.Str("run_id"), closed.Str("kind"), closed.Str("class"), closed.Str("payment_order_id")));
        Assert.Equal(("resolved", "written_off", "The buyer was refunded by hand."), (closed.Str("status"), closed.Str("resolution"), closed.Str("note")));
        Assert.Equal(JsonValueKind.String, closed.GetProperty("resolved_at").ValueKind);
        Assert.Equal(Canonical(open.GetProperty("theirs")), Canonical(closed.GetProperty("theirs")));

        // The same key: the answer replayed. The same resolution under a new key: 200, nothing changed.
        using (var replayed = await _operator.PostJsonAsync(path, resolution, key))
        {
            Assert.Equal(HttpStatusCode.OK, replayed.StatusCode);
            Assert.Equal(resolvedText, await replayed.Content.ReadAsStringAsync());
            Assert.Equal("true", Assert.Single(replayed.Headers.GetValues("Idempotent-Replayed")));
        }

        using (var repeated = await _operator.PostJsonAsync(path, resolution, Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
            Assert.False(repeated.Headers.Contains("Idempotent-Replayed"));
            Assert.Equal(resolvedText, await repeated.Content.ReadAsStringAsync());
        }

        // Another resolution, or another note: a resolution is final.
        await AssertProblemAsync(await _operator.PostJsonAsync(path, new { resolution = "accepted", note = "The buyer was refunded by hand." }, Ids.New("key")),
            HttpStatusCode.Conflict, "break_already_resolved");
        await AssertProblemAsync(await _operator.PostJsonAsync(path, new { resolution = "corrected" }, Ids.New("key")), HttpStatusCode.Conflict, "break_already_resolved");
        await AssertProblemAsync(await _operator.PostJsonAsync(path, new { resolution = "written_off", note = "Another note." }, Ids.New("key")),
            HttpStatusCode.Conflict, "break_already_resolved");
        var listed = Assert.Single(await BreaksAsync($"run_id={runId}&status=resolved"));
        Assert.Equal(Canonical(closed), Canonical(listed));
        Assert.Empty(await BreaksAsync($"run_id={runId}&status=open"));

        // The same record again: found, listed, still resolved as it was.
        var (rerunId, rerun) = await UploadAndFinishAsync(file);
        Assert.NotEqual(runId, rerunId);
        Assert.Equal(("SUCCEEDED", 1L, 0L), (rerun.Str("status"), rerun.Long("lines"), rerun.Long("matched")));
        Assert.Equal((0L, 0L, 1L), Counts(rerun));
        var refound = Assert.Single(await _operator.RunBreaksAsync(rerunId));
        Assert.Equal(Canonical(closed), Canonical(refound));
        Assert.Empty(await BreaksAsync($"run_id={rerunId}&status=open"));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 7. Unknown runs
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task An_unknown_run_and_its_breaks_are_404()
    {
        var unknown = $"recon_{Guid.NewGuid():N}";
        var problem = await AssertProblemAsync(await _operator.GetAsync($"/v1/reconciliation/runs/{unknown}"), HttpStatusCode.NotFound, "resource_missing");
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        await AssertProblemAsync(await _operator.GetAsync($"/v1/reconciliation/runs/{unknown}/breaks"), HttpStatusCode.NotFound, "resource_missing");
        await AssertProblemAsync(await _operator.GetAsync($"/v1/reconciliation/runs/{unknown}/breaks?class=INVESTIGATE&limit=5"), HttpStatusCode.NotFound, "resource_missing");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Contract: unknown request fields are ignored (docs/api.md, Conventions)
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Unknown_request_fields_are_ignored_by_run_requests_and_resolutions()
    {
        using (var started = await _operator.PostRawAsync("/v1/reconciliation/runs", """{"source":"psp","settlement_date":"2020-01-02","requested_by":"ops"}""", Ids.New("key")))
        {
            var body = await started.Content.ReadAsStringAsync();
            Assert.True(started.StatusCode == HttpStatusCode.Accepted, $"an unknown field in a run request: {(int)started.StatusCode} {body}");
            var run = await _operator.FinishedRunAsync(JsonDocument.Parse(body).RootElement.Str("run_id"));
            Assert.Equal(("SUCCEEDED", "2020-01-02"), (run.Str("status"), run.Str("date")));
        }

        var (runId, _) = await UploadAndFinishAsync(Csv(Line(Ids.New("txn"), "2020-01-10 12:00:00", "usd", "3.00", "other_adjustment", Ids.New("po_nobody"))));
        var open = Assert.Single(await _operator.RunBreaksAsync(runId));
        using var resolved = await _operator.PostRawAsync($"/v1/reconciliation/breaks/{open.Str("break_id")}/resolve",
            """{"resolution":"accepted","note":"n","ticket":"OPS-1"}""", Ids.New("key"));
        var resolvedBody = await resolved.Content.ReadAsStringAsync();
        Assert.True(resolved.StatusCode == HttpStatusCode.OK, $"an unknown field in a resolution: {(int)resolved.StatusCode} {resolvedBody}");
        Assert.Equal(("resolved", "accepted"), (JsonDocument.Parse(resolvedBody).RootElement.Str("status"), JsonDocument.Parse(resolvedBody).RootElement.Str("resolution")));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------------------------

    private static string Id(JsonElement found) => found.Str("break_id");

    /// <summary>The JSON value written one way, whatever escaping the response used (a '+' may come as \u002B).</summary>
    private static string Canonical(JsonElement element) => JsonSerializer.Serialize(element);

    private static string? Nullable(JsonElement element, string name) =>
        element.GetProperty(name).ValueKind == JsonValueKind.Null ? null : element.GetProperty(name).GetString();

    private static (long AutoFixed, long ManualReview, long Investigate) Counts(JsonElement run)
    {
        var breaks = run.GetProperty("breaks");
        return (breaks.Long("auto_fixed"), breaks.Long("manual_review"), breaks.Long("investigate"));
    }

    private static string Time(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Csv(params string[] rows) => Header + "\n" + string.Concat(rows.Select(row => row + "\n"));

    /// <summary>A data row in the header's column order.</summary>
    private static string Line(
        string balanceTransactionId, string createdUtc, string currency, string gross, string category, string? paymentOrderId,
        string? fee = null, string? net = null, string? source = null, string? intent = null, string? automaticPayoutId = null) =>
        string.Join(',', balanceTransactionId, createdUtc, string.Empty, currency, gross, fee ?? "0.00", net ?? gross, category,
            source ?? string.Empty, intent ?? string.Empty, automaticPayoutId ?? string.Empty, paymentOrderId ?? string.Empty);

    /// <summary>A row of the PSP's own report, in the header's column order, its gross and net as given.</summary>
    private static string Row(IReadOnlyDictionary<string, string> row, string? gross = null, string? net = null) =>
        string.Join(',', Header.Split(',').Select(column => column switch
        {
            "gross" when gross is not null => gross,
            "net" when net is not null => net,
            _ => row[column],
        }));

    [Fact]
    public async Task A_payout_whose_fees_were_refunded_is_booked_with_the_fees_taken_back_and_only_once()
    {
        // A charge of 10.00 (fee 0.59) and a fee refund of 1.00, carried by one PSP payout of 10.41 to our bank.
        var payoutId = Ids.New("po_sim_test");
        var csv = Csv(
            Line(Ids.New("txn"), "2020-03-01 10:00:00", "usd", "10.00", "charge", Ids.New("po_nobody"), fee: "0.59", net: "9.41", automaticPayoutId: payoutId),
            Line(Ids.New("txn"), "2020-03-01 11:00:00", "usd", "1.00", "fee", null, automaticPayoutId: payoutId),
            Line(Ids.New("txn"), "2020-03-01 23:59:59", "usd", "-10.41", "payout", null, source: payoutId, automaticPayoutId: payoutId));
        var (_, run) = await UploadAndFinishAsync(csv);
        Assert.Equal(("SUCCEEDED", 3L, 2L), (run.Str("status"), run.Long("lines"), run.Long("matched")));

        var settlement = Assert.Single((await _operator.GetJsonAsync($"/v1/ledger/transactions?automatic_payout_id={payoutId}")).GetProperty("transactions").EnumerateArray());
        Assert.Equal(($"settlement:{payoutId}", "settlement"), (settlement.Str("external_id"), settlement.Str("kind")));
        Assert.Equal(
            [("cash:platform", "debit", "10.41"), ("psp_fees:stripe", "credit", "0.41"), ("psp_receivable:stripe", "credit", "10.00")],
            settlement.GetProperty("entries").EnumerateArray().Select(entry => (entry.Str("account"), entry.Str("direction"), entry.Str("amount"))).OrderBy(entry => entry.Item1));

        await UploadAndFinishAsync(csv);
        Assert.Single((await _operator.GetJsonAsync($"/v1/ledger/transactions?automatic_payout_id={payoutId}")).GetProperty("transactions").EnumerateArray());
    }

    private static async Task<HttpResponseMessage> PostFileAsync(HttpClient client, string body, string contentType, string? idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/reconciliation/runs") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await client.SendAsync(request);
    }

    private async Task<(string RunId, JsonElement Run)> UploadAndFinishAsync(string csv)
    {
        using var started = await PostFileAsync(_operator, csv, CsvType, Ids.New("key"));
        var body = await started.Content.ReadAsStringAsync();
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, $"uploading: {(int)started.StatusCode} {body}");
        var runId = JsonDocument.Parse(body).RootElement.Str("run_id");
        var run = await _operator.FinishedRunAsync(runId);
        Assert.True(run.Str("status") == "SUCCEEDED", run.ToString());
        return (runId, run);
    }

    private async Task<JsonElement[]> BreaksAsync(string query)
    {
        var page = await _operator.GetJsonAsync($"/v1/reconciliation/breaks?{query}");
        Assert.False(page.GetProperty("has_more").GetBoolean());
        return page.GetProperty("breaks").EnumerateArray().ToArray();
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {(int)status} {code}, got {(int)response.StatusCode} {text}");
            Assert.Equal("application/problem+json", response.ContentType()?.MediaType);
            var problem = JsonDocument.Parse(text).RootElement.Clone();
            Assert.Equal(code, problem.Str("code"));
            return problem;
        }
    }

    /// <summary>The PSP's report of a UTC day, as Stripe's reporting API gives it (a report run, then its file), row by row.</summary>
    private async Task<IReadOnlyDictionary<string, string>[]> PspReportAsync(DateOnly day)
    {
        using var stripe = fixture.Server.CreatePspClient();
        stripe.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_reconciliation_api_tests");
        var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds();
        using var created = await stripe.PostAsync("/v1/reporting/report_runs", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["report_type"] = "payout_reconciliation.itemized.5",
            ["parameters[interval_start]"] = start.ToString(CultureInfo.InvariantCulture),
            ["parameters[interval_end]"] = (start + 86_400).ToString(CultureInfo.InvariantCulture),
        }));
        var reportRun = await created.JsonAsync();
        Assert.True(created.StatusCode == HttpStatusCode.OK, reportRun.ToString());
        var succeeded = await Eventually.MatchesAsync(() => stripe.GetJsonAsync($"/v1/reporting/report_runs/{reportRun.Str("id")}"),
            candidate => candidate.Str("status") == "succeeded", TimeSpan.FromSeconds(30), "the PSP's report run to succeed");
        var text = await stripe.GetStringAsync(succeeded.GetProperty("result").Str("url"));
        Assert.DoesNotContain("\"", text, StringComparison.Ordinal);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var columns = lines[0].Split(',');
        return lines[1..].Select(line => (IReadOnlyDictionary<string, string>)columns.Zip(line.Split(',')).ToDictionary(pair => pair.First, pair => pair.Second)).ToArray();
    }

    private sealed record Stored(long Runs, long SettlementLines, long BankEntries, long BankEntriesSeen, long Breaks, long RunBreaks);

    /// <summary>What reconciliation holds in the database: every table an upload writes to.</summary>
    private async Task<Stored> StoredAsync()
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT (SELECT count(*) FROM reconciliation_runs), (SELECT count(*) FROM settlement_lines),
                   (SELECT count(*) FROM bank_statement_entries), (SELECT count(*) FROM bank_entries_seen),
                   (SELECT count(*) FROM reconciliation_breaks), (SELECT count(*) FROM reconciliation_run_breaks)
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return new Stored(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5));
    }
}
