namespace Payments.Core.Reconciliation;

/// <summary>What a payment order found when reconciliation made it ask the PSP.</summary>
[GenerateSerializer, Alias("Payments.PspCheckOutcome")]
public enum PspCheckOutcome
{
    /// <summary>The PSP told something we had not booked, and the order applied it (and books it through its outbox).</summary>
    Applied = 0,

    /// <summary>The order already agreed with the PSP (a webhook got there first, or the booking was merely late).</summary>
    AlreadyAgreed = 1,

    /// <summary>The PSP holds no such charge or refund of this order: reconciliation's record needs a person.</summary>
    NotAtPsp = 2,

    /// <summary>The PSP could not be asked (an error, a timeout): ask again later.</summary>
    PspUnreachable = 3,

    /// <summary>No such payment order.</summary>
    UnknownOrder = 4,

    /// <summary>The order is FAILED, and what the PSP says cannot move it: a person decides.</summary>
    Contradicts = 5,
}

[GenerateSerializer, Immutable, Alias("Payments.PspCheckResult")]
public sealed record PspCheckResult([property: Id(0)] PspCheckOutcome Outcome, [property: Id(1)] string? OrderStatus);

/// <summary>Which runs a reconciler starts and how they go; one grain per source (<c>psp</c>, <c>bank</c>).</summary>
[Alias("Payments.IReconcilerGrain")]
public interface IReconcilerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Records a run of the source for <paramref name="date"/> that fetches its own file, and starts it in the background.
    /// Returns the run id at once; the run's progress is in the database.
    /// </summary>
    [Alias("StartRunAsync")]
    Task<string> StartRunAsync(DateOnly date, string origin);

    /// <summary>Goes on with a run already recorded (an upload staged by the API, or one a crash interrupted), in the background.</summary>
    [Alias("ResumeAsync")]
    Task ResumeAsync(string runId);

    /// <summary>Makes sure the daily reminder is registered (idempotent); called by every silo at start.</summary>
    [Alias("EnsureScheduledAsync")]
    Task EnsureScheduledAsync();
}
