namespace Payments.Reconciliation.Runs;

public static class ReconciliationSources
{
    public const string Psp = "psp";
    public const string Bank = "bank";

    public static bool IsKnown(string? source) => source is Psp or Bank;
}

public static class RunStages
{
    /// <summary>The file is being fetched and staged (an upload is staged before its run is visible).</summary>
    public const string Fetching = "fetching";

    /// <summary>Staged, not yet compared.</summary>
    public const string Matching = "matching";

    /// <summary>Breaks filed; auto-fixes owed.</summary>
    public const string Fixing = "fixing";

    public const string Done = "done";
}

public static class RunStatuses
{
    public const string Running = "RUNNING";
}

/// <summary>A run as stored, with the breaks it found counted by class.</summary>
public sealed record ReconciliationRun(
    string RunId,
    string Source,
    DateOnly Date,
    string Origin,
    string Status,
    string Stage,
    long Lines,
    long Matched,
    int Attempts,
    string? Failure,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    long AutoFixed,
    long ManualReview,
    long Investigate);

/// <summary>A break as stored; <see cref="Ours"/> and <see cref="Theirs"/> are JSON objects (or null).</summary>
public sealed record ReconciliationBreak(
    string BreakId,
    string RunId,
    string Source,
    string Kind,
    string Class,
    string Status,
    string? PaymentOrderId,
    string? PayoutId,
    string? Ours,
    string? Theirs,
    string? Fix,
    string? Resolution,
    string? Note,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ResolvedAt);

/// <summary>Which breaks to list; every filter optional.</summary>
public sealed record BreakFilter(
    string? Class = null,
    string? Status = null,
    string? PaymentOrderId = null,
    string? RunId = null,
    int Limit = 100,
    string? StartingAfter = null);

/// <summary>An auto-fix owed: the order to ask, and the break to record it on.</summary>
public sealed record DueFix(string BreakId, string PaymentOrderId);
