using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using Orleans.Streams.Core;
using Payments.Core.Events;
using Payments.Grains.PaymentOrders;

namespace Payments.Grains.Events;

[Alias("Payments.IWebhookNotifierGrain")]
public interface IWebhookNotifierGrain : IGrainWithStringKey
{
    /// <summary>Deliver what is due: a prompt, answered at once; the delivery runs in the background of the activation.</summary>
    [Alias("WakeAsync"), OneWay]
    Task WakeAsync();
}

/// <summary>
/// One merchant's webhook deliveries, keyed by merchant id: woken by the merchant's event stream (or the sweeper), it sends
/// the head of every key that is due, several keys at once and each key's events one after the other, and settles each
/// attempt in PostgreSQL. Nothing it does is awaited by a payment: a dead endpoint costs this grain time, nobody else.
/// </summary>
[ImplicitStreamSubscription(EventStream.Namespace)]
internal sealed class WebhookNotifierGrain(
    WebhookDeliveryStore store,
    WebhookSender sender,
    IOptions<WebhookOptions> options,
    TimeProvider time,
    ILogger<WebhookNotifierGrain> logger) : Grain, IWebhookNotifierGrain, IStreamSubscriptionObserver, IAsyncObserver<EventsWritten>
{
    private Task _delivering = Task.CompletedTask;
    private bool _wokenWhileDelivering;
    private WakeUpTimer? _retry;

    private string MerchantId => this.GetPrimaryKeyString();

    public Task WakeAsync()
    {
        Wake();
        return Task.CompletedTask;
    }

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) => handleFactory.Create<EventsWritten>().ResumeAsync(this);

    public Task OnNextAsync(EventsWritten item, StreamSequenceToken? token = null)
    {
        Wake();
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;

    private WakeUpTimer Retry => _retry ??= new WakeUpTimer(this, WakeAsync, time);

    /// <summary>One delivery loop at a time; a prompt while it runs makes it look once more when it is done.</summary>
    private void Wake()
    {
        if (!_delivering.IsCompleted)
        {
            _wokenWhileDelivering = true;
            return;
        }

        _delivering = DeliverWhileWokenAsync();
    }

    private async Task DeliverWhileWokenAsync()
    {
        do
        {
            _wokenWhileDelivering = false;
            try
            {
                await DeliverDueAsync();
            }
            catch (Exception exception)
            {
                // The database, most likely: what is owed stays owed; look again soon.
                logger.LogWarning(exception, "Webhook deliveries of merchant {MerchantId} failed; will look again", MerchantId);
                Retry.Arm(options.Value.RetryDelayBase);
            }
        }
        while (_wokenWhileDelivering);
    }

    private async Task DeliverDueAsync()
    {
        while (true)
        {
            var now = time.GetUtcNow();
            var endpoint = await store.EndpointAsync(MerchantId, now);
            if (endpoint is null)
            {
                await store.CancelPendingAsync(MerchantId);
                return;
            }

            var due = await store.DueHeadsAsync(MerchantId, now, options.Value.ConcurrencyPerMerchant);
            if (due.Count == 0)
            {
                if (await store.NextHeadDueAsync(MerchantId) is { } next)
                {
                    Retry.Arm(next - time.GetUtcNow());
                }

                return;
            }

            await Task.WhenAll(due.Select(head => AttemptAsync(endpoint, head)));
        }
    }

    /// <summary>A delivery under way when the activation goes (idle, or the silo stopping) finishes first: never two loops at once.</summary>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        try
        {
            await _delivering.WaitAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is OperationCanceledException or TimeoutException)
        {
            logger.LogWarning("Webhook notifier of merchant {MerchantId} deactivated with a delivery under way", MerchantId);
        }
    }

    private async Task AttemptAsync(WebhookEndpoint endpoint, OwedDelivery delivery)
    {
        var attempt = await sender.SendAsync(endpoint, delivery);
        var at = time.GetUtcNow();
        if (attempt.Delivered)
        {
            await store.MarkDeliveredAsync(delivery.EventId, attempt.StatusCode ?? 200, at);
            return;
        }

        var settings = options.Value;
        // Three days from the event, not from its first attempt: events queued behind a failing one do not wait three more each.
        var giveUp = delivery.CreatedAt + settings.RetryFor <= at;
        var next = at + RetryDelay.Next(delivery.Attempts + 1, settings.RetryDelayBase, settings.RetryDelayMax, retryAfter: null, Random.Shared);
        await store.MarkAttemptFailedAsync(delivery.EventId, attempt.StatusCode, attempt.Error ?? "failed", at, next, giveUp);
        if (giveUp)
        {
            logger.LogError("Webhook {EventId} of merchant {MerchantId} given up after {Attempts} attempts over {RetryFor}: {Error}",
                delivery.EventId, MerchantId, delivery.Attempts + 1, settings.RetryFor, attempt.Error);
        }
        else
        {
            logger.LogInformation("Webhook {EventId} of merchant {MerchantId} not delivered ({Error}); next attempt at {NextAttemptAt}",
                delivery.EventId, MerchantId, attempt.Error, next);
        }
    }
}
