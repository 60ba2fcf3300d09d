using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Payments.PspSimulator;

/// <summary>
/// Sends the recorded webhook events to the configured address, signed the Stripe way, one at a time
/// in the order they happened (newest first per held batch under the <c>webhook_reorder</c> fault).
/// A POST that fails (no answer, or not 2xx) is retried with exponential backoff until
/// <see cref="SimulatedEvent.MaxFailures"/>. How far each event got is kept in the store, so that
/// undelivered events resume after a restart.
/// </summary>
internal sealed partial class WebhookDelivery(
    SimulatorStore store,
    SimulatorFaults faults,
    SimulatorWebhooks webhooks,
    ILogger<WebhookDelivery> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    // A receiver that doesn't answer within this counts as a failed attempt, like at Stripe.
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>The delay before the attempt after the <paramref name="failures"/>-th failure: 200 ms, doubling, at most 5 s.</summary>
    public static TimeSpan RetryDelay(int failures) =>
        TimeSpan.FromMilliseconds(Math.Min(FirstRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Max(failures - 1, 0)), MaxRetryDelay.TotalMilliseconds));

    /// <summary>The <c>Stripe-Signature</c> header for <paramref name="body"/> sent at <paramref name="timestamp"/> (unix seconds).</summary>
    public static string Signature(string secret, long timestamp, string body)
    {
        var t = timestamp.ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(t + "." + body));
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (webhooks.Options is not { } options)
        {
            // Nowhere to send to: events are only recorded (and wait for a simulator that has an address).
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DeliverDueAsync(options, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // A state write failed (say, the disk is full): keep the simulator up, try again in a while.
                LogLoopFailed(logger, exception);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sends every event that is due, or waits until one is.</summary>
    private async Task DeliverDueAsync(SimulatorWebhookOptions options, CancellationToken stoppingToken)
    {
        var changed = store.NextChange;
        var now = DateTimeOffset.UtcNow;
        var pending = store.ListPendingEvents();
        var due = pending.Where(e => e.NextAttemptAt is not { } at || at <= now).ToList();
        if (due.Count == 0)
        {
            var next = pending.Min(e => e.NextAttemptAt);
            await ChangeWaits.WaitAsync(changed, next - now, stoppingToken).ConfigureAwait(false);
            return;
        }

        if (faults.Current.WebhookReorder && due.Any(e => e.Attempts == 0))
        {
            // Hold new events so that those that happen meanwhile join them, then send the batch newest first.
            await Task.Delay(SimulatorFaultProfile.WebhookReorderHold, stoppingToken).ConfigureAwait(false);
            now = DateTimeOffset.UtcNow;
            due = [.. store.ListPendingEvents().Where(e => e.NextAttemptAt is not { } at || at <= now).Reverse()];
        }

        foreach (var webhookEvent in due)
        {
            await DeliverAsync(webhookEvent.Id, options, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task DeliverAsync(string eventId, SimulatorWebhookOptions options, CancellationToken stoppingToken)
    {
        if (store.FindEvent(eventId) is not { IsPending: true } webhookEvent)
        {
            return;
        }

        bool delivered;
        string? failure = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, options.Url)
            {
                Content = new ByteArrayContent(Encoding.UTF8.GetBytes(webhookEvent.Body)),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            request.Headers.TryAddWithoutValidation("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)");

            // Signed at each attempt, with the time of the attempt: a receiver refuses old timestamps.
            request.Headers.TryAddWithoutValidation(
                "Stripe-Signature",
                Signature(options.Secret, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), webhookEvent.Body));
            using var response = await _http.SendAsync(request, stoppingToken).ConfigureAwait(false);
            delivered = response.IsSuccessStatusCode;
            failure = delivered ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException exception)
        {
            delivered = false;
            failure = exception.Message;
        }
        catch (TaskCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            delivered = false;
            failure = "no answer in time";
        }

        var saved = store.Update(changes =>
        {
            var current = changes.FindEvent(eventId)!;
            var next = delivered
                ? current with { Attempts = current.Attempts + 1, Deliveries = current.Deliveries + 1, NextAttemptAt = null, Url = options.Url }
                : current with
                {
                    Attempts = current.Attempts + 1,
                    Failures = current.Failures + 1,
                    NextAttemptAt = DateTimeOffset.UtcNow + RetryDelay(current.Failures + 1),
                    Url = options.Url,
                };
            changes.SaveEvent(next);
            return next;
        });

        if (failure is not null)
        {
            LogFailed(logger, saved.Id, saved.Type, options.Url, saved.Failures, failure, saved.IsPending);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery failed; trying again in a second")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {EventId} ({Type}) to {Url} failed ({Failures} so far): {Failure}; retrying: {Retrying}")]
    private static partial void LogFailed(ILogger logger, string eventId, string type, string url, int failures, string failure, bool retrying);
}
