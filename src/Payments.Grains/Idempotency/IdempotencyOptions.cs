using System.ComponentModel.DataAnnotations;

namespace Payments.Grains.Idempotency;

/// <summary>How long an Idempotency-Key's record is kept, and how the expired ones are swept out of grain storage.</summary>
public sealed class IdempotencyOptions
{
    public const string SectionName = "Idempotency";

    /// <summary>
    /// How long a completed key replays its answer (measured from completion). After that the key is treated as unused:
    /// a request with it runs anew. At least a day by default, as Stripe keeps its keys.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often the sweep (a reminder, once for the cluster) deletes expired records.</summary>
    public TimeSpan SweepPeriod { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Extra age a record needs before the sweep deletes it. The grain already treats it as absent at <see cref="Retention"/>;
    /// the margin covers clock skew between a silo (which decides expiry) and the database (whose clock stamps the rows).
    /// </summary>
    public TimeSpan SweepMargin { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows deleted per statement: short transactions, so a backlog never holds locks or bloats one commit.</summary>
    [Range(1, 100_000)]
    public int SweepBatchSize { get; set; } = 1000;

    /// <summary>
    /// <c>Api:IdempotencyLockTimeout</c>, copied in at start (not bound from this section): a key still locked by a request
    /// in flight is swept only once it is this far past its lock as well, so a slow request never loses its key.
    /// </summary>
    public TimeSpan LockTimeout { get; internal set; } = TimeSpan.FromMinutes(1);

    /// <summary>What is wrong with the settings, if anything.</summary>
    public IReadOnlyList<string> Problems()
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        var problems = results.Select(result => result.ErrorMessage ?? "invalid").ToList();
        if (Retention <= TimeSpan.Zero)
        {
            problems.Add("Retention must be positive.");
        }

        if (SweepPeriod <= TimeSpan.Zero)
        {
            problems.Add("SweepPeriod must be positive.");
        }

        if (SweepMargin < TimeSpan.Zero)
        {
            problems.Add("SweepMargin must not be negative.");
        }

        return problems;
    }
}
