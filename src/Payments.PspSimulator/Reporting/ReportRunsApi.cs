using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Payments.PspSimulator.Balance;

namespace Payments.PspSimulator.Reporting;

/// <summary>
/// Stripe's reporting API as Stripe.net calls it (<c>Stripe.Reporting.ReportRunService</c>): <c>POST
/// /v1/reporting/report_runs</c> makes a run <c>pending</c>, <c>GET /v1/reporting/report_runs/{id}</c> shows it
/// <c>succeeded</c> with its <c>result</c> file, whose <c>url</c> is <c>/v1/files/{id}/contents</c> here: at Stripe it
/// is on <c>files.stripe.com</c>, which Stripe.net reaches through <c>FilesBase</c> (or the caller through the url), so
/// the simulator answers the path on its own base and names itself in the url.
/// </summary>
internal static class ReportRunsApi
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/reporting/report_runs", CreateAsync);
        app.MapGet("/v1/reporting/report_runs/{id}", Get);
        app.MapGet("/v1/files/{id}", GetFile);
        app.MapGet("/v1/files/{id}/contents", DownloadAsync);
    }

    private static async Task CreateAsync(HttpContext http, SimulatorStore store, SettlementFaults faults)
    {
        var form = await StripeApi.ReadFormAsync(http.Request).ConfigureAwait(false);
        var key = StripeApi.IdempotencyKey(http.Request);
        var apiBase = StripeApi.ApiBase(http.Request);
        var (response, replayed) = await store.ExecuteIdempotentAsync(
            key,
            StripeApi.Fingerprint(http.Request, form),
            transaction => Create(transaction, form, faults.Current, apiBase),
            () => StripeApi.IdempotencyMismatch(key!),
            http.RequestAborted).ConfigureAwait(false);
        await StripeApi.WriteAsync(http, response, replayed).ConfigureAwait(false);
    }

    private static Task Get(HttpContext http, SimulatorStore store, string id) =>
        StripeApi.WriteAsync(http, Complete(store, id) is { } run
            ? new SimulatorResponse(200, StripeJson.Serialize(ReportRun(run, StripeApi.ApiBase(http.Request))))
            : new SimulatorResponse(404, StripeJson.ErrorBody("invalid_request_error", "resource_missing", $"No such reporting.report_run: '{id}'", "id")));

    private static Task GetFile(HttpContext http, SimulatorStore store, string id) =>
        StripeApi.WriteAsync(http, store.FindReportRunByFile(id) is { Status: "succeeded" } run
            ? new SimulatorResponse(200, StripeJson.Serialize(File(run, StripeApi.ApiBase(http.Request))))
            : NoSuchFile(id));

    /// <summary>The CSV, written as it is made.</summary>
    private static async Task DownloadAsync(HttpContext http, SimulatorStore store, string id)
    {
        if (store.FindReportRunByFile(id) is not { Status: "succeeded", AsOf: { } asOf } run)
        {
            await StripeApi.WriteAsync(http, NoSuchFile(id)).ConfigureAwait(false);
            return;
        }

        http.Response.StatusCode = 200;
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.ContentLength = run.Size;
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"{run.Id}.csv\"";
        await using var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 64 * 1024);
        foreach (var line in new ItemizedReport(store, run, asOf).Lines())
        {
            await writer.WriteAsync(line.AsMemory(), http.RequestAborted).ConfigureAwait(false);
        }

        await writer.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The run, succeeded if it was pending: the payouts of the days that ended are made, the moment reported is fixed,
    /// and the file's size counted (outside the store's write lock: a big file takes a while to count).
    /// </summary>
    private static SimulatedReportRun? Complete(SimulatorStore store, string id)
    {
        if (store.FindReportRun(id) is not { Status: "pending" } pending)
        {
            return store.FindReportRun(id);
        }

        var asOf = store.Update(changes =>
        {
            AutomaticPayouts.SweepDue(changes);
            return changes.Now.ToUnixTimeSeconds();
        });
        var size = new ItemizedReport(store, pending, asOf).Size();
        return store.Update(changes =>
        {
            // Another request may have completed it meanwhile: its moment stands.
            if (changes.FindReportRun(id) is not { Status: "pending" } current)
            {
                return changes.FindReportRun(id);
            }

            var succeeded = current with { Status = "succeeded", AsOf = asOf, Size = size };
            changes.SaveReportRun(succeeded);
            return succeeded;
        });
    }

    private static SimulatorResponse Create(SimulatorTransaction changes, FormParameters form, SettlementFaultProfile? faults, string apiBase)
    {
        var reportType = form.Get("report_type");
        if (string.IsNullOrEmpty(reportType))
        {
            return StripeApi.InvalidRequest("parameter_missing", "Missing required param: report_type.", "report_type");
        }

        if (reportType != ItemizedReport.ReportType)
        {
            return StripeApi.InvalidRequest("parameter_invalid_string", $"The simulator runs only {ItemizedReport.ReportType}, not {reportType}.", "report_type");
        }

        if (Interval(form, "interval_start", out var start) is { } badStart)
        {
            return badStart;
        }

        if (Interval(form, "interval_end", out var end) is { } badEnd)
        {
            return badEnd;
        }

        if (start >= end)
        {
            return StripeApi.InvalidRequest("parameter_invalid_integer", "parameters[interval_start] must be before parameters[interval_end].", "parameters[interval_start]");
        }

        var columns = form.Indexed("parameters[columns]");
        if (columns.FirstOrDefault(column => !ItemizedReport.DefaultColumns.Contains(column, StringComparer.Ordinal)) is { } unknown)
        {
            return StripeApi.InvalidRequest("parameter_invalid_string", $"Unknown column for {ItemizedReport.ReportType}: {unknown}.", "parameters[columns]");
        }

        var run = new SimulatedReportRun
        {
            Id = SimulatorStore.NewId("frrun"),
            FileId = SimulatorStore.NewId("file"),
            ReportType = reportType,
            IntervalStart = start,
            IntervalEnd = end,
            Columns = columns.Count == 0 ? null : columns,
            Created = changes.Now.ToUnixTimeSeconds(),
            Status = "pending",
            Faults = faults,
        };
        changes.SaveReportRun(run);
        return new SimulatorResponse(200, StripeJson.Serialize(ReportRun(run, apiBase)));
    }

    /// <summary>Reads <c>parameters[name]</c> (unix seconds); the refusal if it is missing or no integer, else null.</summary>
    private static SimulatorResponse? Interval(FormParameters form, string name, out long seconds)
    {
        seconds = 0;
        var text = form.Get($"parameters[{name}]");
        if (string.IsNullOrEmpty(text))
        {
            return StripeApi.InvalidRequest("parameter_missing", $"Missing required param: parameters[{name}].", $"parameters[{name}]");
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out seconds)
            ? null
            : StripeApi.InvalidRequest("parameter_invalid_integer", $"Invalid integer: {text}", $"parameters[{name}]");
    }

    private static JsonObject ReportRun(SimulatedReportRun run, string apiBase)
    {
        var columns = new JsonArray();
        foreach (var column in run.Columns ?? [])
        {
            columns.Add(column);
        }

        return new JsonObject
        {
            ["id"] = run.Id,
            ["object"] = "reporting.report_run",
            ["created"] = run.Created,
            ["error"] = null,
            ["livemode"] = false,
            ["parameters"] = new JsonObject
            {
                ["columns"] = run.Columns is null ? null : columns,
                ["interval_start"] = run.IntervalStart,
                ["interval_end"] = run.IntervalEnd,
                ["timezone"] = "Etc/UTC",
            },
            ["report_type"] = run.ReportType,
            ["result"] = run.Status == "succeeded" ? File(run, apiBase) : null,
            ["status"] = run.Status,
            ["succeeded_at"] = run.AsOf,
        };
    }

    private static JsonObject File(SimulatedReportRun run, string apiBase) => new()
    {
        ["id"] = run.FileId,
        ["object"] = "file",
        ["created"] = run.AsOf,
        // Stripe keeps report files for a while, not for ever; a week is as good as any for a simulator.
        ["expires_at"] = run.AsOf + (7 * 86_400),
        ["filename"] = run.Id + ".csv",
        ["links"] = null,
        ["purpose"] = "finance_report_run",
        ["size"] = run.Size,
        ["title"] = $"FinanceReportRun {run.Id}",
        ["type"] = "csv",
        ["url"] = $"{apiBase}/v1/files/{run.FileId}/contents",
    };

    private static SimulatorResponse NoSuchFile(string id) =>
        new(404, StripeJson.ErrorBody("invalid_request_error", "resource_missing", $"No such file upload: '{id}'", "id"));
}
