namespace Payments.Server.Cluster;

/// <summary>
/// How the cluster lives through a silo that dies (killed, crashed, its machine gone): how fast the others declare it dead,
/// how long a grain call may go unanswered, and how long the gateway keeps retrying a call that failed for cluster reasons.
/// The values fit the payment API's synchronous window (<c>Api:SynchronousWindow</c>, 5 s): a client should see its checkout
/// answered, not an error, when a silo dies under it.
/// </summary>
public sealed class FailoverOptions
{
    public const string SectionName = "Failover";

    /// <summary>
    /// Orleans' initial liveness probe timeout (its default is 5 s). Orleans adapts each probe's period and timeout to the
    /// silo's observed answers, between half and four times this; on a healthy network that is half, so 2 s probes every
    /// second. A killed silo refuses the probe at once: <see cref="MissedProbesLimit"/> missed probes, the last one sent
    /// through another silo, declare it dead in about three seconds (the default took about 15).
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Missed probes before a silo votes its peer dead (Orleans' default, 3). The last of them goes through another silo, whose
    /// confirmation counts as the second vote, so a single prober can declare the death. Fewer would let one slow second on
    /// a busy machine (a pause, a starved thread pool) evict a live silo; Orleans also ignores the misses of a silo whose
    /// connection still brings messages, and lengthens probes while the prober itself is unhealthy.
    /// </summary>
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>Votes that declare a silo dead (Orleans' default, 2): never one silo's opinion alone, unless only two are left.</summary>
    public int VotesForDeathDeclaration { get; set; } = 2;

    /// <summary>
    /// How often the gateway re-reads the list of silo gateways from the membership table (Orleans' default is a minute).
    /// A dead gateway is dropped as soon as a connection to it fails; this is how soon a silo that came back is used again.
    /// </summary>
    public TimeSpan GatewayListRefreshPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How much longer than the synchronous window a grain call from the gateway may stay unanswered (the gateway's response
    /// timeout is the window plus this: 8 s). Creating a checkout waits up to the window for its orders, then answers 202, so
    /// a healthy call ends within it plus some storage writes. A call whose silo died under it never gets an answer: it
    /// times out after this long and is retried (Orleans' default, 30 s, made such a checkout take 31 s).
    /// </summary>
    public TimeSpan GatewayResponseMargin { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The response timeout of calls between silos (Orleans' default is 30 s). Above the PSP's request timeout (10 s), since a
    /// grain call may wait on a PSP call; a call whose target silo died is failed sooner, when the silo is declared dead.
    /// </summary>
    public TimeSpan SiloResponseTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long after its first failure the gateway keeps retrying a grain call that failed for cluster reasons (a dead silo
    /// refused, a call timed out). It covers the death declaration (about 3 s) and the grains' reactivation elsewhere with room
    /// to spare; past it the client is answered 503 with Retry-After.
    /// </summary>
    public TimeSpan RetryBudget { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The first pause between retries; it doubles up to <see cref="RetryDelayMax"/>, each jittered by up to half.</summary>
    public TimeSpan RetryDelayBase { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The longest pause between retries: about the probe period, so a call is retried within a second of the cluster having
    /// healed, without hammering a refused address while it has not.
    /// </summary>
    public TimeSpan RetryDelayMax { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A call asked again (its first attempt was out when a silo died) whose second answer comes first waits this much longer
    /// for the first one's: when the first was merely slow, its answer follows within milliseconds, and it is the one to give.
    /// </summary>
    public TimeSpan AskAgainGrace { get; set; } = TimeSpan.FromMilliseconds(300);
}
