using Microsoft.Extensions.Logging;
using Payments.Core.PaymentOrders;
using Payments.Core.Reconciliation;
using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// Reconciliation's auto-fix: the PSP's report shows a charge or refund this order has not booked (a lost answer, a
/// parked order, a refund that bounced without its webhook), so the order asks the PSP itself, never trusting the report,
/// and applies the answer the way a webhook would: the state moves on, a parked order un-parks, the outbox books.
/// </summary>
internal sealed partial class PaymentOrderGrain
{
    public async Task<PspCheckResult> CheckWithPspAsync()
    {
        if (!State.Exists)
        {
            return new PspCheckResult(PspCheckOutcome.UnknownOrder, null);
        }

        var outcomes = new List<PspCheckOutcome>();
        if (State.Status is PaymentOrderStatus.NotStarted or PaymentOrderStatus.Executing or PaymentOrderStatus.RequiresAction)
        {
            outcomes.Add(await CheckChargeAsync());
        }
        else if (State.Status == PaymentOrderStatus.Failed)
        {
            // Final: a charge the PSP reports for a failed order is money to give back or explain, not to book.
            outcomes.Add(PspCheckOutcome.Contradicts);
        }

        if (State.Status == PaymentOrderStatus.Success)
        {
            foreach (var refundId in State.Refunds.Where(refund => refund.Status != RefundStatus.Failed).Select(refund => refund.RefundId).ToArray())
            {
                outcomes.Add(await CheckRefundAsync(refundId));
            }

            // Booked late, or parked for its effects: whatever is owed is applied now.
            await DriveAsync();
        }

        var outcome = outcomes.Contains(PspCheckOutcome.PspUnreachable) ? PspCheckOutcome.PspUnreachable
            : outcomes.Contains(PspCheckOutcome.Contradicts) ? PspCheckOutcome.Contradicts
            : outcomes.Contains(PspCheckOutcome.Applied) ? PspCheckOutcome.Applied
            : outcomes.Contains(PspCheckOutcome.NotAtPsp) ? PspCheckOutcome.NotAtPsp
            : PspCheckOutcome.AlreadyAgreed;
        logger.LogInformation("Payment order {PaymentOrderId}: checked with the PSP for reconciliation: {Outcome}", PaymentOrderId, outcome);
        return new PspCheckResult(outcome, State.Status.ToString());
    }

    private async Task<PspCheckOutcome> CheckChargeAsync()
    {
        var charge = State.HostedSessionId is { } sessionId ? await psp.GetHostedPageAsync(PaymentOrderId, sessionId, CancellationToken.None)
            : State.PspReference is { } reference ? await psp.GetChargeAsync(PaymentOrderId, reference, CancellationToken.None)
            : await psp.FindChargeAsync(PaymentOrderId, CancellationToken.None);
        var notice = charge?.Kind switch
        {
            null => null,
            PspOutcomeKind.Succeeded => new PspNotice(NoticeId("payment"), "reconciliation", PspNoticeKind.PaymentSucceeded, charge.PspReference, null, null, null),
            PspOutcomeKind.Declined => new PspNotice(NoticeId("payment"), "reconciliation", PspNoticeKind.PaymentFailed, charge.PspReference, charge.FailureCode, charge.FailureMessage, null),
            _ => null,
        };
        return charge switch
        {
            null => PspCheckOutcome.NotAtPsp,
            { Kind: PspOutcomeKind.Unknown } => PspCheckOutcome.PspUnreachable,
            _ when notice is null => PspCheckOutcome.AlreadyAgreed,
            _ => await ApplyPspNoticeAsync(notice) == PspNoticeOutcome.Applied ? PspCheckOutcome.Applied : PspCheckOutcome.AlreadyAgreed,
        };
    }

    private async Task<PspCheckOutcome> CheckRefundAsync(string refundId)
    {
        var refund = State.Refunds.First(candidate => candidate.RefundId == refundId);
        var answer = refund.PspRefundId is { } pspRefundId ? await psp.GetRefundAsync(refund.RefundId, pspRefundId, CancellationToken.None)
            : State.PspReference is { } charged ? await psp.FindRefundAsync(refund.RefundId, charged, CancellationToken.None)
            : null;
        if (answer is null)
        {
            return PspCheckOutcome.NotAtPsp;
        }

        var kind = answer.Status switch
        {
            PspRefundStatus.Succeeded when refund.Status == RefundStatus.Pending => PspNoticeKind.RefundSucceeded,
            PspRefundStatus.Failed => PspNoticeKind.RefundFailed,
            PspRefundStatus.Unknown => (PspNoticeKind?)null,
            _ => PspNoticeKind.Informational,
        };
        if (kind is null)
        {
            return PspCheckOutcome.PspUnreachable;
        }

        if (kind == PspNoticeKind.Informational)
        {
            return PspCheckOutcome.AlreadyAgreed;
        }

        var notice = new PspNotice(NoticeId("refund:" + refund.RefundId), "reconciliation", kind.Value, State.PspReference, answer.FailureCode, answer.FailureMessage,
            refund.RefundId, answer.PspRefundId);
        return await ApplyPspNoticeAsync(notice) == PspNoticeOutcome.Applied ? PspCheckOutcome.Applied : PspCheckOutcome.AlreadyAgreed;
    }

    private string NoticeId(string what) => $"reconciliation:{PaymentOrderId}:{what}";
}
