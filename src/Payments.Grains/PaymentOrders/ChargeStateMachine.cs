using System.Diagnostics;
using Payments.Core.PaymentOrders;
using Payments.Grains.DeadLetters;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// The charge: NOT_STARTED → EXECUTING → SUCCESS | FAILED | REQUIRES_ACTION → SUCCESS | FAILED, moved only as
/// <see cref="PaymentOrderStatusExtensions.CanMoveTo"/> allows, and what each PSP answer does to it. The attempt is counted
/// in state before the PSP hears of it; an unknown answer is asked again with the same idempotency key until the budget runs out.
/// </summary>
internal sealed class ChargeStateMachine(string paymentOrderId, PaymentOrderOptions options, TimeProvider time, RetryBudget budget, PaymentOrderParking parking)
{
    public void Transition(PaymentOrderState state, PaymentOrderStatus next)
    {
        if (!state.Status.CanMoveTo(next))
        {
            throw new InvalidOperationException($"Payment order {paymentOrderId}: {state.Status} -> {next} is not a valid transition.");
        }

        if (next is PaymentOrderStatus.Success or PaymentOrderStatus.Failed)
        {
            state.OwesCheckoutNotice = true;
            PaymentsMetrics.OrdersFinished.Add(1, new KeyValuePair<string, object?>("outcome", next == PaymentOrderStatus.Success ? "success" : "failed"));
        }

        var now = time.GetUtcNow();
        if (next == PaymentOrderStatus.RequiresAction)
        {
            state.ActionRequiredAt = now;
        }

        state.Status = next;
        state.UpdatedAt = now;
        if (state.History.Count < PaymentOrderState.HistoryLengthMax)
        {
            state.History.Add(new PaymentOrderHistoryEntry(next, now));
        }

        PaymentOrderEvents.OweStatusEvent(state, next, time.GetUtcNow());
    }

    /// <summary>
    /// Starts an order stored NOT_STARTED (by an earlier build, or with <c>PaymentOrders:StartInCreateWrite=false</c>) on its
    /// first drive; the move is written together with the first attempt, still before the PSP hears of it.
    /// </summary>
    public void StartIfNew(PaymentOrderState state)
    {
        if (state.Status == PaymentOrderStatus.NotStarted)
        {
            Transition(state, PaymentOrderStatus.Executing);
        }
    }

    /// <summary>
    /// A new order started at once, in its create write: EXECUTING with its first attempt counted (write-ahead, as ever, of the
    /// PSP call), waiting for its checkout to let it go. One write where creating and then starting took two.
    /// </summary>
    public void StartAhead(PaymentOrderState state)
    {
        StartIfNew(state);
        CountAttempt(state, time.GetUtcNow());
        state.AttemptCountedAhead = true;
        state.AwaitsCheckout = true;
    }

    /// <summary>
    /// Counts the attempt (to be stored before the call: write-ahead) and says which PSP call to make. An attempt the create
    /// write counted (<see cref="PaymentOrderState.AttemptCountedAhead"/>) is on record already: it is not counted again.
    /// </summary>
    public ChargeCall BeginAttempt(PaymentOrderState state)
    {
        var now = time.GetUtcNow();
        var keyMayBeForgotten = state.FirstAttemptAt is { } first && now - first > options.PspIdempotencyWindow;
        if (!state.AttemptCountedAhead)
        {
            CountAttempt(state, now);
        }

        state.AttemptCountedAhead = false;
        var metadata = new Dictionary<string, string>
        {
            ["payment_order_id"] = paymentOrderId,
            ["checkout_id"] = state.CheckoutId,
            ["seller_account"] = state.SellerAccount,
        };
        return state.ReturnUrl is { } returnUrl
            ? new HostedPageCharge(new PspHostedPageRequest(paymentOrderId, state.AmountMinor, state.Currency, returnUrl, metadata))
            // Past the window the PSP may have forgotten our idempotency key, and creating again could charge twice: look for an
            // earlier charge first, and create only when there is none.
            : new TokenCharge(new PspChargeRequest(paymentOrderId, state.AmountMinor, state.Currency, state.PaymentMethodToken, metadata), LooksForEarlierCharge: keyMayBeForgotten);
    }

    private static void CountAttempt(PaymentOrderState state, DateTimeOffset now)
    {
        state.Attempts++;
        state.FirstAttemptAt ??= now;
        state.NextRetryAt = null;
        state.UpdatedAt = now;
    }

    /// <summary>What the PSP's answer to an attempt does to the order.</summary>
    public ChargeStep ApplyOutcome(PaymentOrderState state, PspChargeOutcome outcome)
    {
        switch (outcome.Kind)
        {
            case PspOutcomeKind.Succeeded:
            case PspOutcomeKind.Declined:
                Finish(state, outcome);
                return new ChargeStep(ChargeStepKind.Finished);
            case PspOutcomeKind.RequiresAction:
                // A hosted page is known by its session until a payment intent pays it.
                if (state.ReturnUrl is null)
                {
                    state.PspReference = outcome.PspReference;
                }
                else
                {
                    state.HostedSessionId = outcome.PspReference;
                }

                state.ActionUrl = outcome.ActionUrl;
                state.PspCheckedAt = time.GetUtcNow();
                Transition(state, PaymentOrderStatus.RequiresAction);
                return new ChargeStep(ChargeStepKind.AwaitingBuyer);
            case PspOutcomeKind.Unknown:
                // Not a failure: the PSP may have charged. Ask again later with the same idempotency key.
                state.LastError = outcome.FailureMessage ?? outcome.FailureCode ?? "unknown PSP outcome";
                if (budget.IsSpent(state.ChargeAttemptsInBudget()))
                {
                    parking.Park(state, DeadLetterStore.StagePspCharge);
                    return new ChargeStep(ChargeStepKind.Parked);
                }

                var delay = budget.DelayAfter(state.ChargeAttemptsInBudget(), outcome.RetryAfter);
                PaymentsMetrics.PspRetries.Add(1, new KeyValuePair<string, object?>("operation", "charge"));
                state.NextRetryAt = time.GetUtcNow() + delay;
                return new ChargeStep(ChargeStepKind.Retrying, WakeUp.Retry(delay));
            default:
                throw new UnreachableException($"Unknown PSP outcome {outcome.Kind}.");
        }
    }

    /// <summary>Ends a payment with the PSP's final answer (its response, a webhook, or our own check), unless the order is past that.</summary>
    public FinishOutcome Finish(PaymentOrderState state, PspChargeOutcome outcome)
    {
        if (state.Status is not (PaymentOrderStatus.Executing or PaymentOrderStatus.RequiresAction))
        {
            // The PSP took money for a token order we consider failed: never silently (the grain logs it), never booked here.
            return state.Status == PaymentOrderStatus.Failed && outcome.Kind == PspOutcomeKind.Succeeded && state.ReturnUrl is null
                ? FinishOutcome.PaidWhileFailed
                : FinishOutcome.Ignored;
        }

        state.ActionUrl = null;
        state.NextRetryAt = null;
        if (outcome.Kind == PspOutcomeKind.Succeeded)
        {
            state.PspReference = outcome.PspReference;
            state.Failure = null;
            state.LastError = null;
            Transition(state, PaymentOrderStatus.Success);
        }
        else
        {
            state.PspReference = outcome.PspReference ?? state.PspReference;
            state.Failure = new PaymentFailure(outcome.FailureCode ?? "payment_failed", outcome.FailureMessage ?? "The payment failed.", Retryable: false);
            Transition(state, PaymentOrderStatus.Failed);
        }

        return FinishOutcome.Finished;
    }

    /// <summary>The PSP says an executing payment waits for the buyer (a webhook that came before our own answer).</summary>
    public void MoveToRequiresAction(PaymentOrderState state, string? paymentIntentId)
    {
        state.PspReference ??= paymentIntentId;
        state.PspCheckedAt = time.GetUtcNow();
        Transition(state, PaymentOrderStatus.RequiresAction);
    }
}

/// <summary>The PSP call an attempt makes; its idempotency key is the payment order id either way.</summary>
internal abstract record ChargeCall;

internal sealed record TokenCharge(PspChargeRequest Request, bool LooksForEarlierCharge) : ChargeCall;

internal sealed record HostedPageCharge(PspHostedPageRequest Request) : ChargeCall;

internal enum ChargeStepKind
{
    Finished,
    AwaitingBuyer,
    Retrying,
    Parked,
}

/// <param name="WakeUp">When <see cref="ChargeStepKind.Retrying"/>: when to ask again.</param>
internal readonly record struct ChargeStep(ChargeStepKind Kind, WakeUp? WakeUp = null);

internal enum FinishOutcome
{
    Finished,

    /// <summary>Late, duplicated or out of order: an answer never moves the order backwards.</summary>
    Ignored,

    /// <summary>Ignored too, but the PSP reports money taken for a FAILED token order: reconciliation must see it.</summary>
    PaidWhileFailed,
}
