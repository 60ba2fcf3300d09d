using System.Text.Json.Nodes;

namespace Payments.PspSimulator;

/// <summary>
/// Makes webhook events: each one is recorded in the transaction of the change it reports, so that
/// an event exists if and only if its change was kept. <see cref="WebhookDelivery"/> sends them.
/// </summary>
internal sealed class SimulatorWebhooks(SimulatorFaults faults, SimulatorWebhookOptions? options)
{
    /// <summary>Where events go; null when no address is configured (events are recorded, not sent).</summary>
    public SimulatorWebhookOptions? Options { get; } = options is { Url.Length: > 0 } ? options : null;

    /// <summary>Records a <paramref name="type"/> event carrying <paramref name="dataObject"/>, under the webhook faults of the moment.</summary>
    public void Raise(SimulatorTransaction changes, string type, JsonObject dataObject)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var roll = faults.RollWebhook();
        var id = SimulatorStore.NewId("evt");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        changes.SaveEvent(new SimulatedEvent
        {
            Id = id,
            Type = type,
            Body = StripeJson.Serialize(StripeJson.Event(id, type, created, dataObject)),
            Created = created,
            Copies = roll.Drop ? 0 : roll.Duplicate ? 2 : 1,
            Url = Options?.Url,
        });
    }
}

/// <summary>Settings of simulated behavior that are not faults.</summary>
/// <param name="ProcessingDelay">
/// How long a <c>pm_sim_processing</c> intent stays <c>processing</c> before it succeeds, a refund of a
/// <c>pm_card_refundFail</c> charge stays <c>succeeded</c> before it fails, and a payout stays in each status before
/// its next (<c>pending</c> before paid or failed; <c>paid</c> before failed, to <c>ba_sim_fails_after_paid</c>).
/// </param>
internal sealed record SimulatorSettings(TimeSpan ProcessingDelay)
{
    public static readonly TimeSpan DefaultProcessingDelay = TimeSpan.FromSeconds(2);
}
