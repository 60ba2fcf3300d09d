using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>Refunds: reserved in state before the PSP hears of them, asked until answered, then looked up; a refund that bounces is reversed.</summary>
internal sealed partial class PaymentOrderGrain
{
    public async Task<CreateRefundResult> RefundAsync(CreateRefund command)
    {
        var reserved = State.Refunds.Where(refund => refund.Status != RefundStatus.Failed).Sum(refund => refund.AmountMinor);
        var remaining = State.AmountMinor - reserved;
        if (State.Refunds.FirstOrDefault(refund => refund.RefundId == command.RefundId || refund.RefundId == command.LegacyRefundId) is { } existing)
        {
            return new CreateRefundResult(CreateRefundOutcome.AlreadyExists, ToRefundView(existing), remaining);
        }

        // A parked order waits for an operator: a new refund would move money at the PSP that nothing then books.
        if (!State.Exists || State.Status != PaymentOrderStatus.Success || State.DeadLettered || State.Refunds.Count >= options.Value.RefundsMax)
        {
            return new CreateRefundResult(CreateRefundOutcome.NotRefundable, null, remaining);
        }

        var amount = command.AmountMinor ?? remaining;
        if (amount <= 0 || amount > remaining)
        {
            return new CreateRefundResult(CreateRefundOutcome.ExceedsPayment, null, remaining);
        }

        // Reserved before the PSP hears of it: a concurrent refund sees this amount as taken.
        var refund = new RefundState
        {
            RefundId = command.RefundId,
            AmountMinor = amount,
            Status = RefundStatus.Pending,
            Reason = command.Reason,
            CreatedAt = time.GetUtcNow(),
        };
        // The reminder first: should we die right after the reservation is stored, it still finishes the refund.
        await RegisterDriveReminderAsync();
        State.Refunds.Add(refund);
        State.UpdatedAt = refund.CreatedAt;
        AssertConsistent();
        await PersistAsync();
        await ExecuteRefundAsync(refund);
        await ApplyEffectsAsync();
        return new CreateRefundResult(CreateRefundOutcome.Created, ToRefundView(refund), remaining - amount);
    }

    private async Task ExecutePendingRefundsAsync()
    {
        foreach (var refund in State.Refunds.Where(refund => refund.Status == RefundStatus.Pending).ToArray())
        {
            // Only when due: the order also wakes for webhooks, other refunds and its reminder, and each of those
            // must not spend an attempt of this refund's budget.
            if (refund.NextRetryAt is { } due && due > time.GetUtcNow())
            {
                ArmRetryTimer(due - time.GetUtcNow(), keepAlive: !refund.PspAnswered);
                continue;
            }

            await ExecuteRefundAsync(refund);
            if (State.DeadLettered)
            {
                return;
            }
        }
    }

    /// <summary>A refund the PSP has not answered within its retry budget: asking on could outlive the PSP's memory of the key.</summary>
    private bool IsOutOfBudget(RefundState refund) =>
        refund.Status == RefundStatus.Pending && !refund.PspAnswered && refund.Attempts - refund.AttemptsAtBudgetStart >= options.Value.Retry.AttemptsMax;

    /// <summary>
    /// Moves a pending refund on: asks the PSP to refund (same idempotency key, so asking again never refunds twice)
    /// until the PSP has answered, and from then on only looks the refund up until it is final.
    /// </summary>
    private async Task ExecuteRefundAsync(RefundState refund)
    {
        var retry = options.Value.Retry;
        if (IsOutOfBudget(refund))
        {
            // Past the budget the outcome is still unknown: park the order for an operator, like a charge.
            State.LastError = $"refund {refund.RefundId}: no answer from the PSP after {refund.Attempts} attempts";
            Park(DeadLetterStore.StagePspRefund);
            State.UpdatedAt = time.GetUtcNow();
            await PersistAsync();
            await RecordDeadLetterAsync();
            logger.LogError("Refund {RefundId} of {PaymentOrderId}: no answer from the PSP after {Attempts} attempts; parked as a dead letter",
                refund.RefundId, PaymentOrderId, refund.Attempts);
            return;
        }

        refund.Attempts++;
        // Past the window the PSP may have forgotten the refund's idempotency key (a replay, days later): creating
        // again could refund twice, so look for it first and create only when there is none.
        var keyMayBeForgotten = !refund.PspAnswered && time.GetUtcNow() - refund.CreatedAt > options.Value.PspIdempotencyWindow;
        var earlier = keyMayBeForgotten && State.PspReference is { } charged ? await psp.FindRefundAsync(refund.RefundId, charged, CancellationToken.None) : null;
        var outcome = earlier
            ?? (refund.PspAnswered && refund.PspRefundId is { } pspRefundId
                ? await psp.GetRefundAsync(refund.RefundId, pspRefundId, CancellationToken.None)
                : await psp.RefundAsync(
                    new PspRefundRequest(refund.RefundId, PaymentOrderId, State.PspReference ?? string.Empty, refund.AmountMinor, State.Currency, refund.Reason),
                    CancellationToken.None));
        refund.PspRefundId = outcome.PspRefundId ?? refund.PspRefundId;
        refund.PspAnswered |= outcome.Status != PspRefundStatus.Unknown;
        switch (outcome.Status)
        {
            case PspRefundStatus.Succeeded:
                FinishRefund(refund.RefundId, succeeded: true, failureCode: null);
                break;
            case PspRefundStatus.Failed:
                FinishRefund(refund.RefundId, succeeded: false, outcome.FailureCode);
                break;
            case PspRefundStatus.Pending:
                // Its webhook normally finishes it; failing that, a later drive looks it up.
                refund.NextRetryAt = time.GetUtcNow() + options.Value.PspPollAfter;
                ArmRetryTimer(options.Value.PspPollAfter, keepAlive: false);
                break;
            case PspRefundStatus.Unknown:
                var delay = RetryDelay.Next(refund.Attempts - refund.AttemptsAtBudgetStart, retry.DelayBase, retry.DelayMax, outcome.RetryAfter, Random.Shared);
                PaymentsMetrics.PspRetries.Add(1, new KeyValuePair<string, object?>("operation", "refund"));
                refund.NextRetryAt = time.GetUtcNow() + delay;
                ArmRetryTimer(delay);
                logger.LogWarning("Refund {RefundId} of {PaymentOrderId}: PSP outcome unknown ({Error}); retrying", refund.RefundId, PaymentOrderId, outcome.FailureMessage);
                break;
            default:
                throw new UnreachableException($"Unknown refund outcome {outcome.Status}.");
        }

        State.UpdatedAt = time.GetUtcNow();
        AssertConsistent();
        await PersistAsync();
    }

    private bool FinishRefund(string? refundId, bool succeeded, string? failureCode, string? pspRefundId = null)
    {
        var refund = State.Refunds.FirstOrDefault(candidate => candidate.RefundId == refundId);
        if (refund is not null && pspRefundId is not null)
        {
            // A refund whose create answer was lost learns its PSP id here: its booking carries it, and reports name it.
            refund.PspRefundId ??= pspRefundId;
        }

        if (refund is { Status: RefundStatus.Succeeded } && !succeeded)
        {
            // Stripe can fail a refund after it succeeded (refund.failed): the buyer did not get the money back.
            logger.LogWarning("Refund {RefundId} of {PaymentOrderId} failed after it had succeeded ({FailureCode}); its booking is reversed",
                refund.RefundId, PaymentOrderId, failureCode);
            refund.Status = RefundStatus.Failed;
            refund.FailureCode = failureCode;
            refund.FailedAfterSuccess = true;
            refund.ReversalToAvailable = State.FulfilledAt is not null;
            State.RefundedMinor -= refund.AmountMinor;
            OweRefundEvent(refund, succeeded: false);
            return true;
        }

        if (refund is null || refund.Status != RefundStatus.Pending)
        {
            return false;
        }

        refund.Status = succeeded ? RefundStatus.Succeeded : RefundStatus.Failed;
        refund.FailureCode = failureCode;
        if (succeeded)
        {
            State.RefundedMinor = checked(State.RefundedMinor + refund.AmountMinor);
            refund.FromAvailable = State.FulfilledAt is not null;
        }

        OweRefundEvent(refund, succeeded);
        return true;
    }
}
