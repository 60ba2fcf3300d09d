using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Core.Wallets;
using Payments.Grains.DeadLetters;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// The outbox in the order's state: which wallet and ledger moves it owes (the flags not yet set), their exact shapes (operation
/// ids, accounts, amounts in minor units), and what a failed round does. The grain sends the moves side by side and stores the
/// flags of those that landed in one write.
/// </summary>
internal sealed class PaymentOrderOutbox(string paymentOrderId, RetryBudget budget, PaymentOrderParking parking)
{
    /// <summary>The PSP whose receivable and late-payment accounts the bookings name.</summary>
    public const string PspName = "stripe";

    /// <summary>
    /// The pay-in's wallet credit and ledger booking; only once both landed, the fulfillment's move to available and each
    /// succeeded refund's wallet debit and reversing booking (and, for a refund that bounced, their reversal): a reversal needs
    /// something to reverse.
    /// </summary>
    public IReadOnlyList<OwedMove> Owed(PaymentOrderState state)
    {
        var currency = Currency.Get(state.Currency);
        var amount = new Money(state.AmountMinor, currency);
        var receivable = LedgerAccounts.PspReceivable(PspName);
        var pending = LedgerAccounts.SellerPending(state.SellerAccount);
        var available = LedgerAccounts.SellerAvailable(state.SellerAccount);
        var moves = new List<OwedMove>();

        var payInId = $"payin:{paymentOrderId}";
        if (!state.WalletUpdated)
        {
            moves.Add(new WalletCredit(new CreditPendingFunds(payInId, state.MerchantId, amount), () => state.WalletUpdated = true));
        }

        if (!state.LedgerUpdated)
        {
            moves.Add(new LedgerBooking(Transfer(payInId, "payin", state.PspReference, receivable, pending, amount), () => state.LedgerUpdated = true));
        }

        if (moves.Count > 0)
        {
            return moves;
        }

        if (state.OwesFulfillmentEffects)
        {
            var fulfilled = new Money(state.FulfilledMinor, currency);
            var fulfillmentId = $"fulfillment:{paymentOrderId}";
            if (!state.FulfillmentWalletUpdated)
            {
                moves.Add(new WalletMove(new MoveFunds(fulfillmentId, fulfilled, WalletBucket.Pending, WalletBucket.Available), () => state.FulfillmentWalletUpdated = true));
            }

            if (!state.FulfillmentLedgerUpdated)
            {
                moves.Add(new LedgerBooking(Transfer(fulfillmentId, "fulfillment", state.PspReference, pending, available, fulfilled), () => state.FulfillmentLedgerUpdated = true));
            }
        }

        foreach (var refund in state.Refunds.Where(refund => refund.OwesEffects))
        {
            var refunded = new Money(refund.AmountMinor, currency);
            var refundId = $"refund:{refund.RefundId}";
            // A refund of a fulfilled order takes from available, which may go below zero (the seller then owes us).
            var refundedFrom = refund.FromAvailable ? WalletBucket.Available : WalletBucket.Pending;
            if (!refund.WalletUpdated)
            {
                moves.Add(new WalletMove(new MoveFunds(refundId, refunded, refundedFrom, To: null), () => refund.WalletUpdated = true));
            }

            if (!refund.LedgerUpdated)
            {
                moves.Add(new LedgerBooking(Transfer(refundId, "refund", refund.PspRefundId, refund.FromAvailable ? available : pending, receivable, refunded),
                    () => refund.LedgerUpdated = true));
            }

            if (refund.FailedAfterSuccess)
            {
                // The refund bounced: the seller is owed the money again, and the PSP owes it to us again.
                var reversalId = $"refund_failed:{refund.RefundId}";
                var returnedTo = refund.ReversalToAvailable ? WalletBucket.Available : WalletBucket.Pending;
                if (!refund.ReversalWalletUpdated)
                {
                    moves.Add(new WalletMove(new MoveFunds(reversalId, refunded, From: null, returnedTo), () => refund.ReversalWalletUpdated = true));
                }

                if (!refund.ReversalLedgerUpdated)
                {
                    moves.Add(new LedgerBooking(Transfer(reversalId, "refund_failed", refund.PspRefundId, receivable, refund.ReversalToAvailable ? available : pending, refunded),
                        () => refund.ReversalLedgerUpdated = true));
                }
            }
        }

        return moves;
    }

    /// <summary>A late payment is booked as owed back to the buyer, and its refund, once the PSP made it, as paid back.</summary>
    public IReadOnlyList<OwedMove> OwedForLatePayment(PaymentOrderState state, LatePaymentState late)
    {
        var amount = new Money(late.AmountMinor, Currency.Get(state.Currency));
        var receivable = LedgerAccounts.PspReceivable(PspName);
        var owedBack = LedgerAccounts.LatePayments(PspName);
        var moves = new List<OwedMove>();
        if (!late.PaymentBooked)
        {
            moves.Add(new LedgerBooking(Transfer($"late_payment:{paymentOrderId}", "late_payment", late.PaymentIntentId, receivable, owedBack, amount), () => late.PaymentBooked = true));
        }

        if (late.RefundStatus == RefundStatus.Succeeded && !late.RefundBooked)
        {
            moves.Add(new LedgerBooking(Transfer($"late_payment_refund:{paymentOrderId}", "late_payment_refund", late.PspRefundId, owedBack, receivable, amount),
                () => late.RefundBooked = true));
        }

        return moves;
    }

    /// <summary>
    /// A round of the outbox failed: what failed stays owed and is sent again with backoff until the budget is spent, and then
    /// the order is parked for an operator. The wake-up for the next round; null when parked.
    /// </summary>
    public WakeUp? AfterFailedRound(PaymentOrderState state, Exception failure)
    {
        state.EffectFailures++;
        state.LastError = $"{failure.GetType().Name}: {failure.Message}";
        if (budget.IsSpent(state.EffectFailures))
        {
            parking.Park(state, DeadLetterStore.StageEffects);
            return null;
        }

        return WakeUp.Retry(budget.DelayAfter(state.EffectFailures));
    }

    private LedgerTransaction Transfer(string externalId, string kind, string? pspReference, string debit, string credit, Money amount) =>
        LedgerTransaction.Transfer(externalId, kind, paymentOrderId, pspReference, debit, credit, amount);
}
