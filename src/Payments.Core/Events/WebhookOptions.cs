using System.ComponentModel.DataAnnotations;

namespace Payments.Core.Events;

/// <summary>How merchant webhooks are delivered (section <c>Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Webhooks";

    /// <summary>The first retry's delay; each next one doubles (with jitter) up to <see cref="RetryDelayMax"/>.</summary>
    public TimeSpan RetryDelayBase { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryDelayMax { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long an event is retried from its first attempt before it is given up ('failed').</summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromDays(3);

    /// <summary>One attempt, connection to last byte: a slow endpoint holds one delivery slot this long, never a payment.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How much of an endpoint's answer is read: we need its status, not its body.</summary>
    [Range(0, 1 << 20)]
    public int ResponseBytesMax { get; set; } = 64 * 1024;

    /// <summary>Deliveries of one merchant in flight at once (different keys only: one key's events go one after the other).</summary>
    [Range(1, 64)]
    public int ConcurrencyPerMerchant { get; set; } = 8;

    /// <summary>How often every silo's sweeper looks for deliveries due that nobody was told of (a lost stream message, a crash).</summary>
    public TimeSpan SweepPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Endpoints on loopback and private networks. Off outside Development (no server-side request forgery into our own
    /// network); checked both when the URL is set and on each connection, so a name that later resolves inside is refused too.
    /// </summary>
    public bool? AllowPrivateNetworks { get; set; }

    /// <summary>What <see cref="AllowPrivateNetworks"/> comes to: unset, it follows the environment (on only in Development).</summary>
    public bool PrivateNetworksAllowed => AllowPrivateNetworks ?? false;

    /// <summary>After a rotation the old secret signs too, for this long.</summary>
    public TimeSpan PreviousSecretFor { get; set; } = TimeSpan.FromHours(24);
}
