namespace Payments.Server.Hosting;

/// <summary>What this process runs: a silo, the gateway API, or (for development) everything.</summary>
public enum ServerRole
{
    All,
    Silo,
    Gateway,
}

public sealed class ServerOptions
{
    public const string SectionName = "Server";

    public ServerRole Role { get; set; } = ServerRole.All;

    public string ClusterId { get; set; } = "payments";

    public string ServiceId { get; set; } = "payments-orleans";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// The address other silos and gateways reach this silo at: an IP address or a host name (a compose service name).
    /// Unset, the silo listens and advertises on loopback (one machine). Set, it listens on every interface.
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>Run the PSP simulator in this process (development default for role All).</summary>
    public bool RunPspSimulator { get; set; } = true;

    /// <summary>False lets the private PostgreSQL skip fsync: for tests, never for money that matters.</summary>
    public bool DurableDatabase { get; set; } = true;

    /// <summary>
    /// How often the dashboard samples the silo's counters and collects the Orleans instruments
    /// (<see cref="Dashboard.DashboardCollectInterval"/>). Each collection observes every Orleans instrument, and some of them
    /// walk tables as large as the activations: at the dashboard's own 1 s that was 4-6 % of the server's CPU under load,
    /// for numbers an operator reads at a glance.
    /// </summary>
    public TimeSpan DashboardCounterInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How many grain locations the silo's directory cache holds. Orleans' default is a million, and the cache keeps the
    /// location of every grain it was asked about until that limit pushes it out, also of grains long collected: with a
    /// grain per order, per checkout and per idempotency key it held 229 000 entries at 80 000 orders and would grow
    /// through a million. A bound near the live activations caps that; a miss costs one directory lookup.
    /// </summary>
    public int GrainDirectoryCacheSize { get; set; } = 100_000;

    /// <summary>The Orleans reminder service's minimum period; the payment order sweep and payouts' reminders are never shorter.</summary>
    public TimeSpan ReminderPeriodMin { get; set; } = TimeSpan.FromMinutes(1);
}
