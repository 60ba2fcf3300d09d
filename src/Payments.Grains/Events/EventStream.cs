using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace Payments.Grains.Events;

/// <summary>
/// How grains tell the merchant's notifier that its log has new deliveries: a message on the merchant's stream. The log is
/// the truth and the stream only a prompt: a message lost with a silo is made up by the sweeper reading the log.
/// </summary>
public static class EventStream
{
    public const string ProviderName = "events";
    public const string Namespace = "merchant-events";

    /// <summary>Publishes the prompt; a failure is logged, never passed on: money does not wait for webhooks.</summary>
    internal static async Task TellAsync(IGrainBase grain, string merchantId, ILogger logger)
    {
        try
        {
            var stream = grain.GetStreamProvider(ProviderName).GetStream<EventsWritten>(StreamId.Create(Namespace, merchantId));
            await stream.OnNextAsync(new EventsWritten(merchantId));
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Could not tell the notifier of merchant {MerchantId} of new events; the sweeper will find them", merchantId);
        }
    }
}

/// <summary>The stream's message: the merchant's log has deliveries owed.</summary>
[GenerateSerializer, Immutable, Alias("Payments.Grains.EventsWritten")]
public sealed record EventsWritten([property: Id(0)] string MerchantId);
