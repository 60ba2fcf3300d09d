using System.ComponentModel.DataAnnotations;

namespace Payments.Reconciliation;

/// <summary>Settings of reconciliation, bound from the <c>Reconciliation</c> configuration section.</summary>
public sealed class ReconciliationOptions
{
    public const string SectionName = "Reconciliation";

    /// <summary>When (UTC) each source's daily run starts, for the day before.</summary>
    public TimeSpan RunTimeOfDay { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Whether the daily runs are made at all (operators' runs and uploads always are).</summary>
    public bool DailyRuns { get; set; } = true;

    /// <summary>How long our booking may wait for the report or statement to show it before that is a break.</summary>
    public TimeSpan SettlementLag { get; set; } = TimeSpan.FromDays(2);

    /// <summary>How long a settlement or a seller payout we booked may take to show on the bank's statement before that is a break.</summary>
    public TimeSpan BankLag { get; set; } = TimeSpan.FromDays(2);

    /// <summary>How far before a run's date our bookings are checked for a missing counterpart.</summary>
    public TimeSpan LookBack { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the reconciler's reminder ticks: it starts the daily run when due, resumes interrupted runs and owed fixes.</summary>
    public TimeSpan TickPeriod { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// A transaction of a run left idle this long is ended by PostgreSQL: a silo that died mid-run must not hold the
    /// locks that the run's next attempt, on another silo, needs.
    /// </summary>
    public TimeSpan IdleTransactionTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Our account at the bank (IBAN): entries of other accounts' statements are unknown to us.</summary>
    [Required]
    public string BankAccount { get; set; } = "NL91SIMB0417164300";

    /// <summary>How many times an auto-fix is tried (a tick apart) before its break goes to a person.</summary>
    [Range(1, 1000)]
    public int FixAttemptsMax { get; set; } = 10;

    /// <summary>How many attempts a run gets (each tick resumes it) before it is FAILED with its last error.</summary>
    [Range(1, 1000)]
    public int RunAttemptsMax { get; set; } = 20;

    /// <summary>How many days back each tick makes sure the daily runs were made (a silo down at the time, a long outage).</summary>
    [Range(1, 60)]
    public int CatchUpDays { get; set; } = 3;

    /// <summary>The largest file an operator may upload (streamed, never held whole).</summary>
    public long UploadBytesMax { get; set; } = 200L * 1024 * 1024;

    /// <summary>How many auto-fixes a run (or a tick) makes at most; the rest wait for the next tick.</summary>
    [Range(1, 100_000)]
    public int FixesPerPass { get; set; } = 1000;
}
