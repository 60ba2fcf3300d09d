namespace Payments.LoadTest.Soak;

/// <summary>
/// Control over the cluster the soak runs against: a silo process killed with SIGKILL, and started again on its ports.
/// The bench drives processes a shell script supervises (<c>soak-cluster.sh</c>); the test drives its own
/// <c>ProcessCluster</c>.
/// </summary>
internal interface ISoakCluster
{
    int Silos { get; }

    /// <summary>Kills silo <paramref name="index"/> with SIGKILL: no shutdown, its grains' answers lost with it.</summary>
    Task KillSiloAsync(int index);

    /// <summary>Has silo <paramref name="index"/> running again and ready (its health answers), however that is done.</summary>
    Task StartSiloAsync(int index);
}

/// <summary>How one soak runs.</summary>
/// <param name="Duration">How long the workload and the chaos run; the settle and the checks come after.</param>
/// <param name="Workers">Buyers running journeys at once (a checkout, then refunds and a fulfillment of what succeeded).</param>
/// <param name="Sellers">Sellers the orders are spread over; each is paid out now and then.</param>
/// <param name="KillEvery">One silo is killed (and started again at once) this often, round-robin.</param>
/// <param name="FaultsOn">How long each PSP fault window lasts.</param>
/// <param name="FaultsOff">The quiet between two windows: retries scheduled in a window then succeed.</param>
/// <param name="PayoutEvery">How often one seller (round-robin) is paid out all it has available.</param>
/// <param name="SettleTimeout">How long the settle may wait for everything to be final once the faults are off.</param>
/// <param name="Seed">The first fault window's seed (each next window's is one more), and the buyers' choices.</param>
/// <param name="KillsMin">
/// The workload goes on past <paramref name="Duration"/> (at most to three times it) until this many silos were killed: a
/// loaded machine restarts silos slowly, and a soak without its kills would prove nothing.
/// </param>
internal sealed record SoakSettings(
    TimeSpan Duration,
    int Workers = 6,
    int Sellers = 12,
    TimeSpan? KillEvery = null,
    TimeSpan? FaultsOn = null,
    TimeSpan? FaultsOff = null,
    TimeSpan? PayoutEvery = null,
    TimeSpan? SettleTimeout = null,
    int Seed = 1,
    int KillsMin = 0)
{
    public TimeSpan KillInterval => KillEvery ?? TimeSpan.FromSeconds(20);

    public TimeSpan FaultWindow => FaultsOn ?? TimeSpan.FromSeconds(12);

    public TimeSpan FaultQuiet => FaultsOff ?? TimeSpan.FromSeconds(6);

    public TimeSpan PayoutInterval => PayoutEvery ?? TimeSpan.FromSeconds(2);

    public TimeSpan SettleBound => SettleTimeout ?? TimeSpan.FromMinutes(4);

    /// <summary>
    /// The simulator's fault profiles, one per window in turn: errors before anything happens, answers lost after the charge,
    /// webhooks duplicated, dropped and reordered, then all at once. Never <c>forget_idempotency_keys</c>: that plays a key
    /// older than Stripe keeps it (24 h), where a repeat is meant to charge again.
    /// </summary>
    public static readonly IReadOnlyList<string> FaultProfiles =
    [
        """{"error_rate": 0.3, "latency_ms": 20}""",
        """{"timeout_after_charge_rate": 0.25}""",
        """{"webhook_duplicate_rate": 0.3, "webhook_drop_rate": 0.2, "webhook_reorder": true}""",
        """{"error_rate": 0.15, "timeout_after_charge_rate": 0.1, "webhook_duplicate_rate": 0.1, "webhook_drop_rate": 0.1, "latency_ms": 10}""",
    ];
}

/// <summary>Where the soak finds the system and who it is there.</summary>
internal sealed record SoakEndpoints(Uri Gateway, Uri Psp, string MerchantKey, string OperatorKey);
