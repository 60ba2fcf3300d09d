using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Payments.PspSimulator.Balance;
using Payments.PspSimulator.Payouts;

namespace Payments.PspSimulator;

/// <summary>
/// What the PSP finishes later, when its time comes: <c>processing</c> intents (<c>pm_sim_processing</c>) succeed
/// and <c>payment_intent.succeeded</c> is sent, the only way the caller learns of it; refunds of a
/// <c>pm_card_refundFail</c> charge fail and <c>refund.failed</c> is sent; payouts are paid or failed as their bank
/// account says (<see cref="PayoutsApi.Advance"/>), with <c>payout.paid</c> or <c>payout.failed</c>. The start time is
/// kept with the intent, refund or payout, so that after a restart those overdue finish at once and the rest on time.
/// It also makes the PSP's daily payouts to our bank when the simulator's clock passes midnight
/// (<see cref="AutomaticPayouts"/>).
/// </summary>
internal sealed partial class DelayedOutcomes(
    SimulatorStore store,
    SimulatorWebhooks webhooks,
    SimulatorSettings settings,
    ILogger<DelayedOutcomes> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CompleteDueAsync(stoppingToken).ConfigureAwait(false);
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

    /// <summary>Finishes every intent, refund and payout step that is due, then waits for the next one or for a change.</summary>
    private async Task CompleteDueAsync(CancellationToken stoppingToken)
    {
        var changed = store.NextChange;
        var now = DateTimeOffset.UtcNow;
        DateTimeOffset? next = null;
        foreach (var intent in store.ListProcessingIntents())
        {
            if (intent.ProcessingSince + settings.ProcessingDelay is { } due && due > now)
            {
                next = next is { } earliest && earliest < due ? earliest : due;
                continue;
            }

            store.Update(changes =>
            {
                // Read again inside the transaction: the intent may have moved on since the list was taken.
                if (changes.FindIntent(intent.Id) is { Status: "processing" } current)
                {
                    StripeApi.SaveAndAnnounce(changes, webhooks, StripeApi.Succeeded(current), "payment_intent.succeeded", apiBase: null);
                }

                return true;
            });
        }

        foreach (var refund in store.ListFailingRefunds())
        {
            if (refund.FailingSince + settings.ProcessingDelay is { } due && due > now)
            {
                next = next is { } earliest && earliest < due ? earliest : due;
                continue;
            }

            store.Update(changes =>
            {
                if (changes.FindRefund(refund.Id) is { FailingSince: not null } current)
                {
                    RefundsApi.Fail(changes, webhooks, current);
                }

                return true;
            });
        }

        foreach (var payout in store.ListChangingPayouts())
        {
            if (payout.ChangingSince + settings.ProcessingDelay is { } due && due > now)
            {
                next = next is { } earliest && earliest < due ? earliest : due;
                continue;
            }

            store.Update(changes =>
            {
                // Only if it is still the step that was due: a step done meanwhile set another ChangingSince.
                if (changes.FindPayout(payout.Id) is { ChangingSince: { } since } current && since == payout.ChangingSince)
                {
                    PayoutsApi.Advance(changes, webhooks, current, DateTimeOffset.UtcNow);
                }

                return true;
            });
        }

        // The PSP's daily payout to our bank, once the simulator's clock passes midnight (it may also have been made
        // already by whoever read the clock first).
        var untilSweep = store.Update(changes =>
        {
            AutomaticPayouts.SweepDue(changes);
            return AutomaticPayouts.UntilNextSweep(changes.Now);
        });
        var sweepDue = now + untilSweep;
        next = next is { } soonest && soonest < sweepDue ? soonest : sweepDue;

        await ChangeWaits.WaitAsync(changed, next - now, stoppingToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Finishing delayed payment intents, refunds or payouts failed; trying again in a second")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);
}
