using Payments.Core.PaymentOrders;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// A payment the PSP finishes later (3-D Secure, processing, a hosted page): asked about once the PSP has been quiet for
/// <see cref="PaymentOrderOptions.PspPollAfter"/>, canceled at the PSP when the buyer has not finished within
/// <see cref="PaymentOrderOptions.ActionTimeout"/>; and a FAILED hosted-page order's page, closed so nobody pays on it later.
/// </summary>
internal sealed class PspPolling(PaymentOrderOptions options, TimeProvider time, RetryBudget budget, ChargeStateMachine charge, LatePayments latePayments)
{
    /// <summary>What a cancel answers when nothing was ever registered at the PSP: nobody can pay it, so it is canceled.</summary>
    public static readonly PspChargeOutcome NothingToCancel = PspChargeOutcome.Declined("canceled", "Nothing was registered at the PSP.", null);

    /// <summary>What to do now about an order waiting for the buyer: wait, ask the PSP, or give up on the buyer.</summary>
    public PollStep Next(PaymentOrderState state)
    {
        var now = time.GetUtcNow();
        // Orders that began to wait before there was a deadline count from their last change, fixed now (and stored with the
        // next write), or every poll would push their deadline on.
        state.ActionRequiredAt ??= state.UpdatedAt;
        var deadline = state.ActionRequiredAt.Value + options.ActionTimeout;
        if (deadline <= now)
        {
            return new PollStep(PollStepKind.Expire, deadline);
        }

        var due = (state.PspCheckedAt ?? state.UpdatedAt) + options.PspPollAfter;
        due = due < deadline ? due : deadline;
        return due > now
            ? new PollStep(PollStepKind.Wait, deadline, WakeUp.Poll(due - now))
            : new PollStep(PollStepKind.Ask, deadline);
    }

    /// <summary>Applies the PSP's answer to our question; null when it finished the payment, else when to ask again.</summary>
    public WakeUp? ApplyPollOutcome(PaymentOrderState state, PspChargeOutcome outcome, DateTimeOffset deadline)
    {
        state.PspCheckedAt = time.GetUtcNow();
        WakeUp? next = null;
        if (outcome.Kind is PspOutcomeKind.Succeeded or PspOutcomeKind.Declined)
        {
            charge.Finish(state, outcome);
        }
        else
        {
            state.ActionUrl = outcome.ActionUrl ?? state.ActionUrl;
            var untilDeadline = deadline - state.PspCheckedAt.Value;
            next = WakeUp.Poll(untilDeadline < options.PspPollAfter ? untilDeadline : options.PspPollAfter);
        }

        state.UpdatedAt = state.PspCheckedAt.Value;
        return next;
    }

    /// <summary>
    /// Applies the answer to the cancel of a payment the buyer never finished: FAILED with <c>action_expired</c> once canceled,
    /// booked as any success if it was paid meanwhile, and otherwise asked again with backoff.
    /// </summary>
    public ExpiryStep ApplyExpiryOutcome(PaymentOrderState state, PspChargeOutcome outcome)
    {
        state.PspCheckedAt = time.GetUtcNow();
        ExpiryStep step;
        switch (outcome.Kind)
        {
            case PspOutcomeKind.Succeeded:
                charge.Finish(state, outcome);
                step = new ExpiryStep(ExpiryStepKind.PaidMeanwhile);
                break;
            case PspOutcomeKind.Declined when state.HostedSessionId is not null || outcome.FailureCode == "canceled":
                state.HostedPageClosed = state.HostedSessionId is not null;
                charge.Finish(state, PspChargeOutcome.Declined(
                    "action_expired",
                    $"The buyer did not complete the payment within {options.ActionTimeout}; it was canceled at the PSP.",
                    state.PspReference));
                step = new ExpiryStep(ExpiryStepKind.Expired);
                break;
            default:
                // Unknown, or not canceled at the PSP (its cancel was refused while the payment was processing, which may yet
                // fail back to payable): the order stays waiting and cancels again, with the next attempt's key.
                state.ActionExpiryAttempts++;
                step = new ExpiryStep(ExpiryStepKind.Retrying, WakeUp.Retry(budget.DelayAfter(state.ActionExpiryAttempts, outcome.RetryAfter)));
                break;
        }

        state.UpdatedAt = state.PspCheckedAt.Value;
        return step;
    }

    /// <summary>
    /// Applies the answer to closing a FAILED order's hosted page: closed (and, if the buyer paid on it meanwhile, that money
    /// recorded as a late payment), or asked again at the base delay. No count is stored for it, so it does not back off.
    /// </summary>
    public CloseStep ApplyCloseOutcome(PaymentOrderState state, PspChargeOutcome outcome)
    {
        var latePaymentFound = false;
        switch (outcome.Kind)
        {
            case PspOutcomeKind.Unknown:
            case PspOutcomeKind.RequiresAction:
                return new CloseStep(Closed: false, LatePaymentFound: false, WakeUp.Retry(options.Retry.DelayBase));
            case PspOutcomeKind.Succeeded:
                latePaymentFound = latePayments.Record(state, outcome.PspReference);
                break;
        }

        state.HostedPageClosed = true;
        state.UpdatedAt = time.GetUtcNow();
        return new CloseStep(Closed: true, latePaymentFound, WakeUp: null);
    }
}

internal enum PollStepKind
{
    /// <summary>Not due yet: the wake-up is armed for the next look (or the deadline).</summary>
    Wait,

    /// <summary>Ask the PSP now.</summary>
    Ask,

    /// <summary>The buyer's time is up: cancel at the PSP.</summary>
    Expire,
}

internal readonly record struct PollStep(PollStepKind Kind, DateTimeOffset Deadline, WakeUp? WakeUp = null);

internal enum ExpiryStepKind
{
    Expired,
    PaidMeanwhile,
    Retrying,
}

internal readonly record struct ExpiryStep(ExpiryStepKind Kind, WakeUp? WakeUp = null);

/// <param name="Closed">The page is closed (to be stored); otherwise nothing changed and <paramref name="WakeUp"/> asks again.</param>
/// <param name="LatePaymentFound">The buyer had paid on it meanwhile: a late payment is recorded.</param>
internal readonly record struct CloseStep(bool Closed, bool LatePaymentFound, WakeUp? WakeUp);
