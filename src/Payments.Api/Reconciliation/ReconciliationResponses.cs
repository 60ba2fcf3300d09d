using System.Globalization;
using System.Text.Json;
using Payments.Reconciliation.Runs;

namespace Payments.Api.Reconciliation;

public sealed record RunCreatedResponse(string RunId, string Status);

public sealed record RunBreakCountsResponse(long AutoFixed, long ManualReview, long Investigate);

public sealed record RunResponse(
    string RunId,
    string Status,
    string Source,
    string Date,
    long Lines,
    long Matched,
    RunBreakCountsResponse Breaks,
    DateTime StartedAt,
    DateTime? FinishedAt,
    string? Failure,
    string Origin,
    string Stage,
    int Attempts)
{
    public static RunResponse From(ReconciliationRun run) => new(
        run.RunId, run.Status, run.Source, run.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), run.Lines, run.Matched,
        new RunBreakCountsResponse(run.AutoFixed, run.ManualReview, run.Investigate), run.StartedAt.UtcDateTime, run.FinishedAt?.UtcDateTime,
        run.Failure, run.Origin, run.Stage, run.Attempts);
}

/// <summary>A break: <c>ours</c> and <c>theirs</c> are the two sides' records as found, amounts in minor units.</summary>
public sealed record BreakResponse(
    string BreakId,
    string RunId,
    string Source,
    string Kind,
    string Class,
    string Status,
    string? PaymentOrderId,
    string? PayoutId,
    JsonElement? Ours,
    JsonElement? Theirs,
    JsonElement? Fix,
    string? Resolution,
    string? Note,
    DateTime CreatedAt,
    DateTime? ResolvedAt)
{
    public static BreakResponse From(ReconciliationBreak found) => new(
        found.BreakId, found.RunId, found.Source, found.Kind, found.Class, found.Status, found.PaymentOrderId, found.PayoutId,
        Json(found.Ours), Json(found.Theirs), Json(found.Fix), found.Resolution, found.Note, found.CreatedAt.UtcDateTime, found.ResolvedAt?.UtcDateTime);

    private static JsonElement? Json(string? text)
    {
        if (text is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}

public sealed record BreaksResponse(IReadOnlyList<BreakResponse> Breaks, bool HasMore);
