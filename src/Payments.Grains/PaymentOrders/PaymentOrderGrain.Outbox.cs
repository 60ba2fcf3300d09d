using Microsoft.Extensions.Logging;
using Payments.Core.Checkout;
using Payments.Core.Ledger;
using Payments.Core.Wallets;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// What the order owes after it moved money (wallet and ledger moves) and what it owes the merchant (its events, and the news
/// for its checkout that it is final). Each is retried with backoff; the merchant's never holds up a money step.
/// </summary>
internal sealed partial class PaymentOrderGrain
{
    /// <summary>Failed rounds of events or checkout news in a row (in memory: a new activation starts again at once).</summary>
    private int _noticeFailures;

    /// <summary>The checkout was told since the last state write, which has not stored that yet.</summary>
    private bool _noticeUnsaved;

    /// <summary>
    /// One round of the outbox: every owed move at once (each carries its operation id, so applying one again is a no-op),
    /// and the flags of those that landed written together.
    /// </summary>
    private async Task ApplyEffectsAsync()
    {
        var effects = StartMoves(Rules.Outbox.Owed(State));
        if (effects.Count == 0)
        {
            return;
        }

        if (await effects.CompleteAsync() is { } exception)
        {
            // What failed stays owed: the timer (or, after a crash, the sweep) applies it again, with backoff,
            // until the budget is spent and the order is parked for an operator.
            if (Rules.Outbox.AfterFailedRound(State, exception) is { } retry)
            {
                Arm(retry);
                logger.LogWarning(exception, "Payment order {PaymentOrderId}: wallet/ledger effect failed; will retry", PaymentOrderId);
            }
            else
            {
                Timer.Cancel();
                logger.LogError(exception, "Payment order {PaymentOrderId}: wallet/ledger effects failed {Failures} times; parked as a dead letter", PaymentOrderId, State.EffectFailures);
            }
        }

        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
        ForgetAppliedWalletOperations(effects);
        if (State.DeadLettered)
        {
            await RecordDeadLetterAsync();
        }
    }

    /// <summary>Sends every move at once, in the order given; the outbox marks in state those that landed.</summary>
    private Outbox StartMoves(IReadOnlyList<OwedMove> moves)
    {
        var wallet = Wallet;
        var ledger = Ledger;
        var outbox = new Outbox();
        foreach (var move in moves)
        {
            Func<Task> send = move switch
            {
                WalletCredit credit => () => wallet.CreditPendingAsync(credit.Credit),
                WalletMove walletMove => () => wallet.MoveAsync(walletMove.Move),
                LedgerBooking booking => () => ledger.BookAsync(booking.Transaction),
                _ => throw new InvalidOperationException($"Unknown move {move}."),
            };
            outbox.Owe(applied: false, send, move.MarkApplied, move.WalletOperationId is { } operation ? [operation] : []);
        }

        return outbox;
    }

    /// <summary>Stored as applied, so never sent again: the wallet need not remember them (a one-way message, not awaited).</summary>
    private void ForgetAppliedWalletOperations(Outbox effects)
    {
        if (effects.AppliedWalletOperations is { Count: > 0 } applied)
        {
            _ = Wallet.ForgetOperationsAsync(applied);
        }
    }

    /// <summary>Events, then the checkout's news; stores that the checkout was told when no other write will.</summary>
    private async Task DeliverNoticesAsync()
    {
        await WriteOwedEventsAsync();
        await TellCheckoutIfOwedAsync();
        if (_noticeUnsaved)
        {
            await PersistAsync();
        }
    }

    private async Task WriteOwedEventsAsync()
    {
        if (await events.WriteAsync(this, State.MerchantId, State.OwedEvents))
        {
            _noticeFailures = 0;
            return;
        }

        NoticeFailed();
    }

    /// <summary>
    /// A final order tells its checkout, which completes when all its orders have told it. After the order's own events:
    /// the checkout's completion comes after them in the log.
    /// </summary>
    private async Task TellCheckoutIfOwedAsync()
    {
        if (!State.OwesCheckoutNotice || State.OwedEvents.Count > 0)
        {
            return;
        }

        try
        {
            await Checkout.OrderFinishedAsync(PaymentOrderId);
            State.OwesCheckoutNotice = false;
            _noticeUnsaved = true;
            _noticeFailures = 0;
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Payment order {PaymentOrderId}: could not tell checkout {CheckoutId} it is final; will try again", PaymentOrderId, State.CheckoutId);
            NoticeFailed();
        }
    }

    /// <summary>The drive wake-up stays stored while notices are owed; the timer tries sooner, backing off like the PSP's retries.</summary>
    private void NoticeFailed() => Arm(WakeUp.Retry(Rules.Budget.DelayAfter(++_noticeFailures)));
}
