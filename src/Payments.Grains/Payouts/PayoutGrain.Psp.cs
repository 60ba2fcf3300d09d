using Microsoft.Extensions.Logging;
using Payments.Core.Payouts;
using Payments.Grains.DeadLetters;
using Payments.Psp;

namespace Payments.Grains.Payouts;

/// <summary>
/// The payout's conversation with the PSP: the attempt to create it, the lookups while it is in transit or watched for a
/// return, and the webhooks. What each answer does to the payout is <see cref="PayoutStateMachine"/>'s to say.
/// </summary>
internal sealed partial class PayoutGrain
{
    public async Task<PayoutNoticeOutcome> ApplyPspNoticeAsync(PayoutNotice notice)
    {
        if (!State.Exists)
        {
            return PayoutNoticeOutcome.UnknownPayout;
        }

        var answer = PayoutStateMachine.AnswerIn(notice);
        if (answer is not null && PayoutStateMachine.Reopens(State, answer.Status))
        {
            // The bank's return makes a paid payout owe bookings again: its reminder comes back before anything changes.
            await RegisterDriveReminderAsync();
        }

        if (PayoutStateMachine.ForeignPspPayout(State, notice) is (string theirs, string ours))
        {
            LogForeignNotice(logger, PayoutId, theirs, ours);
            return PayoutNoticeOutcome.Ignored;
        }

        var now = time.GetUtcNow();
        if (answer is null || !Apply(answer, now))
        {
            // Nothing final, or late, duplicated or out of order: a webhook never moves a payout backwards.
            return PayoutNoticeOutcome.Ignored;
        }

        // Parked because we could not learn the outcome, and now the PSP tells it: nothing left for an operator.
        var endsDeadLetter = PayoutParking.EndedByPspAnswer(State);
        if (endsDeadLetter)
        {
            PayoutParking.Unpark(State);
        }

        State.UpdatedAt = now;
        AssertConsistent();
        await PersistAsync();
        if (endsDeadLetter)
        {
            await RegisterDriveReminderAsync();
            await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPayout, PayoutId, State.UpdatedAt);
        }

        await DriveAsync();
        return PayoutNoticeOutcome.Applied;
    }

    private async Task CallPspAsync()
    {
        // Write-ahead: the attempt is on record before the PSP hears of it.
        var search = PayoutPspAttempt.Begin(State, time.GetUtcNow(), options.Value.PspIdempotencyWindow);
        await PersistAsync();

        var earlier = search is { } window
            ? await psp.FindPayoutAsync(PayoutId, window.CreatedNotBefore, window.CreatedNotAfter, CancellationToken.None)
            : null;
        var outcome = earlier ?? await psp.CreatePayoutAsync(PayoutPspAttempt.Request(PayoutId, State), CancellationToken.None);
        var now = time.GetUtcNow();
        if (outcome.Status == PspPayoutStatus.Unknown)
        {
            // Not a failure: the PSP may have accepted it. Asked again later with the same idempotency key, or parked.
            switch (PayoutRetryBudget.AfterUnknownPspOutcome(State, outcome, options.Value.Retry, Random.Shared, now))
            {
                case RetryDecision.RetryAfter retry:
                    PaymentsMetrics.PspRetries.Add(1, new KeyValuePair<string, object?>("operation", "payout"));
                    WakeUp.Arm(retry.Delay);
                    LogRetrying(logger, PayoutId, State.Attempts, State.LastError ?? string.Empty, now + retry.Delay);
                    break;
                case RetryDecision.Parked:
                    Parked(DeadLetterStore.StagePspPayout);
                    LogParked(logger, PayoutId, State.Attempts, State.LastError ?? string.Empty);
                    break;
            }
        }
        else
        {
            Apply(outcome, now);
        }

        State.UpdatedAt = now;
        AssertConsistent();
        await PersistAsync();
        if (State.DeadLettered)
        {
            await RecordDeadLetterAsync();
        }
    }

    /// <summary>Asks the PSP about a payout in transit (or paid, while it is watched for a return) when a lookup is due.</summary>
    private async Task CheckPspIfDueAsync()
    {
        var pollAfter = payoutOptions.Value.PspPollAfter;
        var lookup = PayoutLookups.Next(State, time.GetUtcNow(), pollAfter);
        if (lookup is not PayoutLookup.AskNow ask)
        {
            if (lookup is PayoutLookup.NotYet { WakeUpIn: { } wait })
            {
                // Not kept alive for it: if the payout is deactivated meanwhile, its reminder brings it back.
                WakeUp.Arm(wait, keepAlive: false);
            }

            return;
        }

        var answer = await psp.GetPayoutAsync(PayoutId, ask.PspPayoutId, CancellationToken.None);
        PayoutLookups.Asked(State, time.GetUtcNow());
        if (PayoutStateMachine.Reopens(State, answer.Status))
        {
            // Returned: the drive reminder comes back before anything changes, as for the webhook.
            await RegisterDriveReminderAsync();
        }

        if (answer.Status is PspPayoutStatus.Paid or PspPayoutStatus.Failed)
        {
            LogLookedUp(logger, PayoutId, answer.Status);
        }

        var answered = PayoutLookups.Answered(State, PayoutId, answer, time.GetUtcNow(), pollAfter);
        CountAndLog(answered.Transition);
        if (answered.AskAgainAfter is { } again)
        {
            WakeUp.Arm(again, keepAlive: false);
        }

        AssertConsistent();
        await PersistAsync();
    }

    /// <summary>Moves the payout on with the PSP's answer; false when the payout is past that already.</summary>
    private bool Apply(PspPayoutOutcome answer, DateTimeOffset now)
    {
        var transition = PayoutStateMachine.Apply(State, PayoutId, answer, now);
        CountAndLog(transition);
        return transition is not null;
    }

    /// <summary>Counts and logs a move of the payout's status.</summary>
    private void CountAndLog(PayoutTransition? transition)
    {
        if (transition?.FinishedOutcome is { } outcome)
        {
            PaymentsMetrics.PayoutsFinished.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        }

        if (transition?.To == PayoutStatus.Failed && State.Failure is { } failure)
        {
            LogFailed(logger, PayoutId, failure.Code, State.ReturnedAfterPaid);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Payout {PayoutId}: PSP outcome still unknown after {Attempts} attempts ({Error}); parked as a dead letter")]
    private static partial void LogParked(ILogger logger, string payoutId, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payout {PayoutId}: PSP outcome unknown after attempt {Attempt} ({Error}); retrying at {NextRetryAt}")]
    private static partial void LogRetrying(ILogger logger, string payoutId, int attempt, string error, DateTimeOffset nextRetryAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Payout {PayoutId}: no webhook came, the PSP says {Status}")]
    private static partial void LogLookedUp(ILogger logger, string payoutId, PspPayoutStatus status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Payout {PayoutId}: a webhook of PSP payout {PspPayoutId} names it, but it is PSP payout {Ours}; ignored, needs investigation")]
    private static partial void LogForeignNotice(ILogger logger, string payoutId, string pspPayoutId, string ours);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payout {PayoutId} failed ({FailureCode}); returned after it was paid: {Returned}")]
    private static partial void LogFailed(ILogger logger, string payoutId, string failureCode, bool returned);
}
