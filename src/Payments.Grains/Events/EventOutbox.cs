using Microsoft.Extensions.Logging;

namespace Payments.Grains.Events;

/// <summary>
/// Writes a grain's owed events to the log once its state holds them (a checkout's completion: once its last order told
/// it), and prompts the merchant's notifier.
/// </summary>
public sealed class EventOutbox(EventLog log, ILogger<EventOutbox> logger)
{
    /// <summary>
    /// Writes what <paramref name="owed"/> holds and empties it (the emptied list is stored with the grain's next write; until
    /// then a new activation writes them again, which changes nothing). False when the log could not be written: what is
    /// owed stays owed, for the grain's timer or reminder.
    /// </summary>
    internal async Task<bool> WriteAsync(IGrainBase grain, string merchantId, List<OwedEvent> owed)
    {
        if (owed.Count == 0)
        {
            return true;
        }

        var writing = owed.ToArray();
        bool deliveriesOwed;
        try
        {
            deliveriesOwed = await log.AppendAsync(merchantId, writing);
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Could not write {Count} events of merchant {MerchantId} to the log; will try again", writing.Length, merchantId);
            return false;
        }

        owed.RemoveAll(writing.Contains);
        if (deliveriesOwed)
        {
            // Not awaited: a stream queue on a dying silo must not hold up a payment. A prompt lost is made up by the sweeper.
            _ = EventStream.TellAsync(grain, merchantId, logger);
        }

        return true;
    }
}
