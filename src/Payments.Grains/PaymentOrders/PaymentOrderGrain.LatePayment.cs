using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// A hosted page paid after its order FAILED: the buyer paid for nothing. The money is booked as owed back
/// (<c>late_payment:</c>), refunded at the PSP exactly once (refund id <c>late_{order}</c>, the same key however often
/// asked), and the refund booked (<c>late_payment_refund:</c>). The seller's wallet never sees it.
/// </summary>
internal sealed partial class PaymentOrderGrain
{
    private string LateRefundId => "late_" + PaymentOrderId;

    /// <summary>Records a payment of a FAILED hosted-page order, once; false if there is nothing new to record.</summary>
    private bool RecordLatePayment(string? paymentIntentId)
    {
        if (State.Status != PaymentOrderStatus.Failed || State.ReturnUrl is null || State.LatePayment is not null || string.IsNullOrEmpty(paymentIntentId))
        {
            return false;
        }

        logger.LogWarning("Payment order {PaymentOrderId} is FAILED but its hosted page was paid ({PaymentIntentId}); refunding it to the buyer",
            PaymentOrderId, paymentIntentId);
        State.LatePayment = new LatePaymentState
        {
            PaymentIntentId = paymentIntentId,
            AmountMinor = State.AmountMinor,
            FoundAt = time.GetUtcNow(),
            RefundStatus = RefundStatus.Pending,
        };
        return true;
    }

    /// <summary>A webhook about the late payment's refund; false if it is not about it or changes nothing.</summary>
    private bool FinishLateRefund(string? refundId, bool succeeded, string? failureCode, string? pspRefundId)
    {
        if (State.LatePayment is not { RefundStatus: RefundStatus.Pending } late || refundId != LateRefundId)
        {
            return false;
        }

        late.PspRefundId ??= pspRefundId;
        late.PspAnswered = true;
        late.RefundStatus = succeeded ? RefundStatus.Succeeded : RefundStatus.Failed;
        late.FailureCode = failureCode;
        return true;
    }

    private async Task SettleLatePaymentAsync()
    {
        var late = State.LatePayment!;
        if (late.RefundStatus == RefundStatus.Pending)
        {
            if (late.NextRetryAt is { } due && due > time.GetUtcNow())
            {
                ArmRetryTimer(due - time.GetUtcNow(), keepAlive: !late.PspAnswered);
            }
            else
            {
                await RefundLatePaymentAsync(late);
            }
        }

        await BookLatePaymentAsync(late);
    }

    private async Task RefundLatePaymentAsync(LatePaymentState late)
    {
        late.Attempts++;
        // Past the window the PSP may have forgotten the refund's key: look for it first, create only when there is none.
        var keyMayBeForgotten = !late.PspAnswered && time.GetUtcNow() - late.FoundAt > options.Value.PspIdempotencyWindow;
        var earlier = keyMayBeForgotten ? await psp.FindRefundAsync(LateRefundId, late.PaymentIntentId, CancellationToken.None) : null;
        var outcome = earlier
            ?? (late.PspAnswered && late.PspRefundId is { } pspRefundId
                ? await psp.GetRefundAsync(LateRefundId, pspRefundId, CancellationToken.None)
                : await psp.RefundAsync(new PspRefundRequest(LateRefundId, PaymentOrderId, late.PaymentIntentId, late.AmountMinor, State.Currency, Reason: null), CancellationToken.None));
        late.PspRefundId = outcome.PspRefundId ?? late.PspRefundId;
        late.PspAnswered |= outcome.Status != PspRefundStatus.Unknown;
        switch (outcome.Status)
        {
            case PspRefundStatus.Succeeded:
                late.RefundStatus = RefundStatus.Succeeded;
                late.NextRetryAt = null;
                break;
            case PspRefundStatus.Failed:
                // Final at the PSP: the money stays with us (booked as owed to the buyer) until an operator pays it back.
                late.RefundStatus = RefundStatus.Failed;
                late.FailureCode = outcome.FailureCode;
                late.NextRetryAt = null;
                logger.LogError("Payment order {PaymentOrderId}: the refund of its late payment {PaymentIntentId} failed at the PSP ({FailureCode}); needs an operator",
                    PaymentOrderId, late.PaymentIntentId, outcome.FailureCode);
                break;
            case PspRefundStatus.Pending:
                late.NextRetryAt = time.GetUtcNow() + options.Value.PspPollAfter;
                ArmRetryTimer(options.Value.PspPollAfter, keepAlive: false);
                break;
            case PspRefundStatus.Unknown:
                // Asked again with the same key (so never refunded twice), backing off; past the budget it keeps asking at the
                // longest delay, loudly, rather than give up on the buyer's money.
                var retry = options.Value.Retry;
                var delay = RetryDelay.Next(late.Attempts, retry.DelayBase, retry.DelayMax, outcome.RetryAfter, Random.Shared);
                late.NextRetryAt = time.GetUtcNow() + delay;
                ArmRetryTimer(delay);
                if (late.Attempts >= retry.AttemptsMax)
                {
                    logger.LogError("Payment order {PaymentOrderId}: no answer from the PSP to the refund of its late payment after {Attempts} attempts ({Error})",
                        PaymentOrderId, late.Attempts, outcome.FailureMessage);
                }

                break;
            default:
                throw new UnreachableException($"Unknown refund outcome {outcome.Status}.");
        }

        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
    }

    private async Task BookLatePaymentAsync(LatePaymentState late)
    {
        var amount = new Money(late.AmountMinor, Currency.Get(State.Currency));
        var ledger = GrainFactory.GetGrain<ILedgerWriterGrain>(LedgerAccounts.WriterShardFor(PaymentOrderId));
        var receivable = LedgerAccounts.PspReceivable(PspName);
        var owedBack = LedgerAccounts.LatePayments(PspName);
        var bookings = new Outbox();
        bookings.Owe(late.PaymentBooked,
            () => ledger.BookAsync(LedgerTransaction.Transfer($"late_payment:{PaymentOrderId}", "late_payment", PaymentOrderId, late.PaymentIntentId, receivable, owedBack, amount)),
            () => late.PaymentBooked = true);
        if (late.RefundStatus == RefundStatus.Succeeded)
        {
            bookings.Owe(late.RefundBooked,
                () => ledger.BookAsync(LedgerTransaction.Transfer($"late_payment_refund:{PaymentOrderId}", "late_payment_refund", PaymentOrderId, late.PspRefundId, owedBack, receivable, amount)),
                () => late.RefundBooked = true);
        }

        if (bookings.Count == 0)
        {
            return;
        }

        if (await bookings.CompleteAsync() is { } failure)
        {
            late.BookingFailures++;
            var retry = options.Value.Retry;
            ArmRetryTimer(RetryDelay.Next(late.BookingFailures, retry.DelayBase, retry.DelayMax, retryAfter: null, Random.Shared));
            logger.LogWarning(failure, "Payment order {PaymentOrderId}: booking its late payment failed; will retry", PaymentOrderId);
        }

        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
    }

    private RefundView? LateRefundView() => State.LatePayment is { } late
        ? new RefundView(LateRefundId, PaymentOrderId, new Money(late.AmountMinor, Currency.Get(State.Currency)), late.RefundStatus, "paid_after_failure", late.FoundAt,
            EffectsOwed: !late.IsSettled)
        : null;
}
