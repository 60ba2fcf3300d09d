using System.Text.Json.Serialization;

namespace Payments.PspSimulator;

/// <summary>
/// One webhook event and how its delivery went. The body is fixed when the event happens; each
/// delivery attempt signs it anew. Immutable; updates replace it in the store.
/// </summary>
public sealed record SimulatedEvent
{
    /// <summary>Attempts that fail (no answer, or not 2xx) before the simulator gives up on an event.</summary>
    public const int MaxFailures = 12;

    public required string Id { get; init; }

    public required string Type { get; init; }

    /// <summary>The Stripe event object, exactly as it is sent.</summary>
    public required string Body { get; init; }

    /// <summary>Unix seconds.</summary>
    public required long Created { get; init; }

    /// <summary>
    /// How many successful deliveries the event is owed: 1, 2 under the <c>webhook_duplicate_rate</c>
    /// fault, 0 when the <c>webhook_drop_rate</c> fault lost it.
    /// </summary>
    public required int Copies { get; init; }

    /// <summary>The webhook address it was (or will be) sent to; null when none is configured.</summary>
    public string? Url { get; init; }

    /// <summary>POSTs made, successful or not.</summary>
    public int Attempts { get; init; }

    /// <summary>POSTs answered 2xx.</summary>
    public int Deliveries { get; init; }

    /// <summary>POSTs that failed.</summary>
    public int Failures { get; init; }

    /// <summary>Not before this time is the next attempt made (backoff after a failure); null: at once.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    [JsonIgnore]
    public bool Dropped => Copies == 0;

    [JsonIgnore]
    public bool Delivered => Deliveries > 0;

    /// <summary>Still owed a delivery, and not given up on.</summary>
    [JsonIgnore]
    public bool IsPending => Deliveries < Copies && Failures < MaxFailures;
}
