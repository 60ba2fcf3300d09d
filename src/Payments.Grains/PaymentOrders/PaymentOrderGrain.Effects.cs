using Microsoft.Extensions.Logging;
using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.Wallets;
using Payments.Grains.DeadLetters;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>The outbox: the wallet and ledger moves an order owes, each applied once however often this runs.</summary>
internal sealed partial class PaymentOrderGrain
{
    /// <summary>
    /// The outbox: wallet and ledger, each applied once however often this runs, in either order of failure.
    /// Both carry the operation id, so they run side by side and their flags are written together.
    /// </summary>
    private async Task ApplyEffectsAsync()
    {
        var effects = OwedEffects();
        if (effects.Count == 0)
        {
            return;
        }

        if (await effects.CompleteAsync() is { } exception)
        {
            // What failed stays owed: the timer (or, after a crash, the reminder) applies it again, with backoff,
            // until the budget is spent and the order is parked for an operator.
            State.EffectFailures++;
            State.LastError = $"{exception.GetType().Name}: {exception.Message}";
            if (State.EffectFailures >= options.Value.Retry.AttemptsMax)
            {
                Park(DeadLetterStore.StageEffects);
                logger.LogError(exception, "Payment order {PaymentOrderId}: wallet/ledger effects failed {Failures} times; parked as a dead letter", PaymentOrderId, State.EffectFailures);
            }
            else
            {
                var retry = options.Value.Retry;
                ArmRetryTimer(RetryDelay.Next(State.EffectFailures, retry.DelayBase, retry.DelayMax, retryAfter: null, Random.Shared));
                logger.LogWarning(exception, "Payment order {PaymentOrderId}: wallet/ledger effect failed; will retry", PaymentOrderId);
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

    /// <summary>Stored as applied, so never sent again: the wallet need not remember them (a one-way message, not awaited).</summary>
    private void ForgetAppliedWalletOperations(Outbox effects)
    {
        if (effects.AppliedWalletOperations is { Count: > 0 } applied)
        {
            _ = GrainFactory.GetGrain<ISellerWalletGrain>(State.SellerAccount).ForgetOperationsAsync(applied);
        }
    }

    /// <summary>
    /// The outbox: the pay-in's wallet credit and ledger booking, then the fulfillment's move to available and each
    /// succeeded refund's wallet debit and reversing booking (and, for a refund that bounced, their reversal). Each carries
    /// its operation id, so applying one again is a no-op; they run side by side and their flags are written together. The
    /// rest waits for the pay-in: a reversal needs something to reverse.
    /// </summary>
    private Outbox OwedEffects()
    {
        var currency = Currency.Get(State.Currency);
        var amount = new Money(State.AmountMinor, currency);
        var wallet = GrainFactory.GetGrain<ISellerWalletGrain>(State.SellerAccount);
        var ledger = GrainFactory.GetGrain<ILedgerWriterGrain>(LedgerAccounts.WriterShardFor(PaymentOrderId));
        var receivable = LedgerAccounts.PspReceivable(PspName);
        var pending = LedgerAccounts.SellerPending(State.SellerAccount);
        var available = LedgerAccounts.SellerAvailable(State.SellerAccount);
        var effects = new Outbox();
        LedgerTransaction Transfer(string externalId, string kind, string? pspReference, string debit, string credit, Money money) =>
            LedgerTransaction.Transfer(externalId, kind, PaymentOrderId, pspReference, debit, credit, money);

        var payInId = $"payin:{PaymentOrderId}";
        effects.Owe(State.WalletUpdated, () => wallet.CreditPendingAsync(new CreditPendingFunds(payInId, State.MerchantId, amount)), () => State.WalletUpdated = true, payInId);
        effects.Owe(State.LedgerUpdated, () => ledger.BookAsync(Transfer(payInId, "payin", State.PspReference, receivable, pending, amount)), () => State.LedgerUpdated = true);
        if (effects.Count > 0)
        {
            return effects;
        }

        if (State.OwesFulfillmentEffects)
        {
            var fulfilled = new Money(State.FulfilledMinor, currency);
            var fulfillmentId = $"fulfillment:{PaymentOrderId}";
            effects.Owe(State.FulfillmentWalletUpdated, () => wallet.MoveAsync(new MoveFunds(fulfillmentId, fulfilled, WalletBucket.Pending, WalletBucket.Available)),
                () => State.FulfillmentWalletUpdated = true, fulfillmentId);
            effects.Owe(State.FulfillmentLedgerUpdated, () => ledger.BookAsync(Transfer(fulfillmentId, "fulfillment", State.PspReference, pending, available, fulfilled)),
                () => State.FulfillmentLedgerUpdated = true);
        }

        foreach (var refund in State.Refunds.Where(refund => refund.OwesEffects))
        {
            var refunded = new Money(refund.AmountMinor, currency);
            var refundId = $"refund:{refund.RefundId}";
            // A refund of a fulfilled order takes from available, which may go below zero (the seller then owes us).
            var refundedFrom = refund.FromAvailable ? WalletBucket.Available : WalletBucket.Pending;
            effects.Owe(refund.WalletUpdated, () => wallet.MoveAsync(new MoveFunds(refundId, refunded, refundedFrom, To: null)), () => refund.WalletUpdated = true, refundId);
            effects.Owe(refund.LedgerUpdated, () => ledger.BookAsync(Transfer(refundId, "refund", refund.PspRefundId, refund.FromAvailable ? available : pending, receivable, refunded)),
                () => refund.LedgerUpdated = true);
            if (refund.FailedAfterSuccess)
            {
                // The refund bounced: the seller is owed the money again, and the PSP owes it to us again.
                var reversalId = $"refund_failed:{refund.RefundId}";
                var returnedTo = refund.ReversalToAvailable ? WalletBucket.Available : WalletBucket.Pending;
                effects.Owe(refund.ReversalWalletUpdated, () => wallet.MoveAsync(new MoveFunds(reversalId, refunded, From: null, returnedTo)), () => refund.ReversalWalletUpdated = true, reversalId);
                effects.Owe(refund.ReversalLedgerUpdated, () => ledger.BookAsync(Transfer(reversalId, "refund_failed", refund.PspRefundId, receivable, refund.ReversalToAvailable ? available : pending, refunded)),
                    () => refund.ReversalLedgerUpdated = true);
            }
        }

        return effects;
    }
}
