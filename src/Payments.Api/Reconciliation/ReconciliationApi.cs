using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Api.Authentication;
using Payments.Api.Idempotency;
using Payments.Api.Json;
using Payments.Api.Problems;
using Payments.Core.Reconciliation;
using Payments.Reconciliation;
using Payments.Reconciliation.BankStatements;
using Payments.Reconciliation.Runs;
using Payments.Reconciliation.SettlementReports;

namespace Payments.Api.Reconciliation;

/// <summary>The reconciliation routes (operator key): runs by date or by upload, their breaks, the queues, resolving.</summary>
public static class ReconciliationApi
{
    private static readonly string[] Classes = ["AUTO_FIXED", "MANUAL_REVIEW", "INVESTIGATE"];
    private static readonly string[] Statuses = ["open", "resolved"];
    private static readonly string[] Resolutions = ["written_off", "corrected", "accepted"];

    public static IEndpointRouteBuilder MapReconciliationApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/reconciliation").WithTags("Reconciliation").RequireApiKey(operatorOnly: true);
        group.MapPost("/runs", StartRunAsync)
            .WithName("StartReconciliationRun")
            .WithSummary("Reconciles a date of a source ({source, settlement_date | statement_date}), or an uploaded file (text/csv: the PSP's report; application/xml: a camt.053 statement).")
            .Accepts<object>("application/json", "text/csv", "application/csv", "application/xml", "text/xml")
            .Produces<RunCreatedResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        group.MapGet("/runs/{runId}", GetRunAsync).WithName("GetReconciliationRun").WithSummary("A run: its status, lines, matches and breaks by class.");
        group.MapGet("/runs/{runId}/breaks", ListRunBreaksAsync).WithName("ListReconciliationRunBreaks").WithSummary("Every break the run found, oldest first.");
        group.MapGet("/breaks", ListBreaksAsync)
            .WithName("ListReconciliationBreaks")
            .WithSummary("Breaks, oldest first, by class, status, payment_order_id and run_id (each optional); limit ≤ 1000, starting_after a break_id.");
        group.MapPost("/breaks/{breakId}/resolve", ResolveAsync)
            .WithName("ResolveReconciliationBreak")
            .WithSummary("Closes a break with a resolution (written_off, corrected, accepted) and a note. Moves no money.");
        return app;
    }

    internal static async Task<IResult> StartRunAsync(
        HttpContext context, IGrainFactory grains, ReconciliationRunStore runs, IOptions<ApiOptions> apiOptions, IOptions<ReconciliationOptions> options, TimeProvider time,
        ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(ReconciliationApi));
        if (IdempotentPost.CheckKey(context, out var key) is { } keyProblem)
        {
            return keyProblem;
        }

        var mediaType = (context.Request.ContentType ?? "application/json").Split(';')[0].Trim().ToLowerInvariant();
        return mediaType switch
        {
            "text/csv" or "application/csv" => await UploadAsync(context, grains, runs, ReconciliationSources.Psp, key, apiOptions.Value, options.Value, time, logger),
            "application/xml" or "text/xml" => await UploadAsync(context, grains, runs, ReconciliationSources.Bank, key, apiOptions.Value, options.Value, time, logger),
            "application/json" => await StartDateRunAsync(context, grains, key, apiOptions.Value),
            _ => ApiProblem.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Unsupported content type",
                "Send JSON ({\"source\", \"settlement_date\" | \"statement_date\"}), text/csv (a settlement report) or application/xml (a camt.053 statement)."),
        };
    }

    private static async Task<IResult> StartDateRunAsync(HttpContext context, IGrainFactory grains, string key, ApiOptions apiOptions)
    {
        var (body, document, bodyProblem) = await RequestBody.ReadJsonAsync(context.Request, apiOptions.RequestBodyBytesMax, context.RequestAborted);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        string source;
        DateOnly date;
        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return ApiProblem.Validation(new Dictionary<string, string[]> { ["source"] = ["is required: \"psp\" or \"bank\""] });
            }

            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            source = JsonFields.RequiredString(root, "source", ReconciliationSources.IsKnown, "is required: \"psp\" or \"bank\"", errors) ?? string.Empty;
            var dateField = source == ReconciliationSources.Bank ? "statement_date" : "settlement_date";
            var text = JsonFields.RequiredString(root, dateField, IsDate, "is required: a date such as \"2026-11-20\" (years 2000-2999)", errors);
            // Unknown fields are ignored (API conventions), but the other source's date is a mistake worth naming.
            var otherDate = dateField == "settlement_date" ? "statement_date" : "settlement_date";
            if (root.TryGetProperty(otherDate, out _) && ReconciliationSources.IsKnown(source))
            {
                errors[otherDate] = [$"is not the date of a {source} run (use {dateField})"];
            }

            if (errors.Count > 0)
            {
                return ApiProblem.Validation(errors);
            }

            date = DateOnly.ParseExact(text!, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        return await IdempotentPost.ExecuteAsync(context, grains, Caller.From(context), key, body!, apiOptions.IdempotencyLockTimeout, async () =>
        {
            var runId = await grains.GetGrain<IReconcilerGrain>(source).StartRunAsync(date, "operator");
            return new PostOutcome(StatusCodes.Status202Accepted, new RunCreatedResponse(runId, RunStatuses.Running), $"/v1/reconciliation/runs/{runId}");
        });
    }

    /// <summary>
    /// The file streams into staging inside one transaction while its fingerprint is computed; the run becomes visible (and
    /// starts) only when the idempotency key is new. A malformed file, or a key that replays, leaves nothing stored.
    /// </summary>
    private static async Task<IResult> UploadAsync(
        HttpContext context, IGrainFactory grains, ReconciliationRunStore runs, string source, string key, ApiOptions apiOptions, ReconciliationOptions options, TimeProvider time,
        ILogger logger)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = options.UploadBytesMax;
        }

        if (context.Request.ContentLength > options.UploadBytesMax)
        {
            return ApiProblem.TooLarge(options.UploadBytesMax);
        }

        var runId = $"recon_{Guid.NewGuid():N}";
        await using var upload = await runs.BeginUploadAsync(runId, source, time.GetUtcNow(), context.RequestAborted);
        using var fingerprint = IdempotentPost.StartFingerprint(context.Request);
        // The same bytes as a report and as a statement are two requests.
        fingerprint.AppendData(System.Text.Encoding.UTF8.GetBytes(source + "\n"));
        var body = new UploadBody(context.Request.Body, fingerprint, options.UploadBytesMax);
        try
        {
            await upload.StageAsync(body, options.BankAccount, context.RequestAborted);
            await body.DrainAsync(context.RequestAborted);
        }
        catch (Exception exception) when (exception is InvalidSettlementReportException or InvalidStatementException)
        {
            return ApiProblem.Create(StatusCodes.Status400BadRequest, "invalid_statement", "Invalid statement", exception.Message);
        }
        catch (UploadTooLargeException)
        {
            return ApiProblem.TooLarge(options.UploadBytesMax);
        }

        return await IdempotentPost.ExecuteAsync(context, grains, Caller.From(context), key, IdempotentPost.FinishFingerprint(fingerprint), apiOptions.IdempotencyLockTimeout, async () =>
        {
            await upload.CommitAsync(context.RequestAborted);
            try
            {
                await grains.GetGrain<IReconcilerGrain>(source).ResumeAsync(runId);
            }
            catch (Exception exception) when (exception is TimeoutException or OrleansException)
            {
                // The run is stored: the reconciler's next tick takes it up. The client must not upload it again.
                logger.LogWarning(exception, "Reconciliation run {RunId} was stored but its reconciler did not answer; its next tick starts it", runId);
            }

            return new PostOutcome(StatusCodes.Status202Accepted, new RunCreatedResponse(runId, RunStatuses.Running), $"/v1/reconciliation/runs/{runId}");
        });
    }

    internal static async Task<Results<Ok<RunResponse>, ProblemHttpResult>> GetRunAsync(string runId, ReconciliationRunStore runs) =>
        await runs.GetAsync(runId) is { } run ? TypedResults.Ok(RunResponse.From(run)) : ApiProblem.NotFound("reconciliation run", runId);

    internal static async Task<Results<Ok<BreaksResponse>, ProblemHttpResult>> ListRunBreaksAsync(string runId, HttpContext context, ReconciliationRunStore runs, ReconciliationBreakStore breaks)
    {
        if (await runs.GetAsync(runId) is null)
        {
            return ApiProblem.NotFound("reconciliation run", runId);
        }

        return await ListAsync(context, breaks, runId);
    }

    internal static Task<Results<Ok<BreaksResponse>, ProblemHttpResult>> ListBreaksAsync(HttpContext context, ReconciliationBreakStore breaks) =>
        ListAsync(context, breaks, runId: null);

    private static async Task<Results<Ok<BreaksResponse>, ProblemHttpResult>> ListAsync(HttpContext context, ReconciliationBreakStore breaks, string? runId)
    {
        var query = context.Request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string? Choice(string name, string[] allowed)
        {
            var value = query[name].ToString();
            if (value.Length == 0)
            {
                return null;
            }

            if (!allowed.Contains(value, StringComparer.Ordinal))
            {
                errors[name] = [$"must be one of {string.Join(", ", allowed)}"];
            }

            return value;
        }

        var breakClass = Choice("class", Classes);
        var status = Choice("status", Statuses);
        var limit = PageLimit.Read(query, 100, ReconciliationBreakStore.LimitMax, errors);
        foreach (var name in new[] { "payment_order_id", "run_id", "starting_after" })
        {
            // PostgreSQL text cannot hold a NUL: the query would fail (a 500), so it is refused as what it is, a bad id.
            if (query[name].ToString().Contains('\0', StringComparison.Ordinal))
            {
                errors[name] = ["must not contain a NUL character"];
            }
        }

        if (errors.Count > 0)
        {
            return ApiProblem.Validation(errors);
        }

        string? Text(string name) => query[name].ToString() is { Length: > 0 } value ? value : null;
        var filter = new BreakFilter(breakClass, status, Text("payment_order_id"), runId ?? Text("run_id"), limit, Text("starting_after"));
        var (found, hasMore) = await breaks.ListAsync(filter);
        return TypedResults.Ok(new BreaksResponse(found.Select(BreakResponse.From).ToArray(), hasMore));
    }

    internal static async Task<IResult> ResolveAsync(string breakId, HttpContext context, IGrainFactory grains, ReconciliationBreakStore breaks, IOptions<ApiOptions> options, TimeProvider time)
    {
        if (IdempotentPost.CheckKey(context, out var key) is { } keyProblem)
        {
            return keyProblem;
        }

        var (body, document, bodyProblem) = await RequestBody.ReadJsonAsync(context.Request, options.Value.RequestBodyBytesMax, context.RequestAborted);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        string resolution;
        string? note;
        using (document)
        {
            var root = document!.RootElement;
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            if (root.ValueKind != JsonValueKind.Object)
            {
                return ApiProblem.Validation(new Dictionary<string, string[]> { ["resolution"] = ["is required: written_off, corrected or accepted"] });
            }

            resolution = JsonFields.RequiredString(root, "resolution", value => Resolutions.Contains(value, StringComparer.Ordinal), "is required: written_off, corrected or accepted", errors) ?? string.Empty;
            note = JsonFields.OptionalString(root, "note", "must be a string", errors);
            if (note is { Length: > 2000 })
            {
                errors["note"] = ["must be at most 2000 characters"];
            }

            if (errors.Count > 0)
            {
                return ApiProblem.Validation(errors);
            }
        }

        return await IdempotentPost.ExecuteAsync(context, grains, Caller.From(context), key, body!, options.Value.IdempotencyLockTimeout, async () =>
        {
            var (outcome, resolved) = await breaks.ResolveAsync(breakId, resolution, note, time.GetUtcNow());
            return outcome switch
            {
                ResolveBreakOutcome.Resolved or ResolveBreakOutcome.AlreadyResolved => new PostOutcome(StatusCodes.Status200OK, BreakResponse.From(resolved!)),
                ResolveBreakOutcome.NotFound => PostOutcome.Problem(ApiProblem.NotFound("reconciliation break", breakId)),
                _ => PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "break_already_resolved", "Already resolved",
                    $"Break '{breakId}' was resolved as {resolved!.Resolution}; a resolution is final.")),
            };
        });
    }

    /// <summary>
    /// A yyyy-MM-dd date from 2000 to 2999. A run reaches days around its date (look-back, lags, the next day) and the PSP's
    /// timestamps, so 9999-12-31 was accepted (202) and then failed on every tick forever with an overflow.
    /// </summary>
    private static bool IsDate(string text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) && date.Year is >= 2000 and <= 2999;
}
