using Payments.Core.PaymentOrders;
using Payments.Core.Payouts;
using Payments.Psp;

namespace Payments.Api.Webhooks;

/// <summary>What each kind of PSP event means for a payment order or a payout.</summary>
public static class PspNotices
{
    public static bool IsAboutPayout(PspEvent webhook) => webhook.Type.StartsWith("payout.", StringComparison.Ordinal);

    public static PayoutNotice ForPayout(PspEvent webhook)
    {
        var kind = webhook.Type switch
        {
            "payout.paid" when webhook.PayoutStatus == "paid" => PayoutNoticeKind.Paid,
            "payout.failed" or "payout.canceled" => PayoutNoticeKind.Failed,
            _ => PayoutNoticeKind.Informational,
        };
        var failureCode = kind == PayoutNoticeKind.Failed ? webhook.FailureCode ?? (webhook.Type == "payout.canceled" ? "canceled" : "payout_failed") : null;
        return new PayoutNotice(webhook.Id, kind, webhook.PspPayoutId, failureCode, webhook.FailureMessage);
    }

    public static PspNotice From(PspEvent webhook)
    {
        var kind = webhook.Type switch
        {
            "payment_intent.succeeded" => PspNoticeKind.PaymentSucceeded,
            "payment_intent.payment_failed" => PspNoticeKind.PaymentFailed,
            "payment_intent.requires_action" or "payment_intent.processing" => PspNoticeKind.PaymentRequiresAction,
            "checkout.session.completed" or "checkout.session.async_payment_succeeded" when webhook.SessionPaymentStatus == "paid" => PspNoticeKind.PaymentSucceeded,
            "checkout.session.async_payment_failed" or "checkout.session.expired" => PspNoticeKind.PaymentFailed,
            "refund.created" or "refund.updated" or "charge.refunded" when webhook.RefundId is not null && webhook.RefundStatus == "succeeded" => PspNoticeKind.RefundSucceeded,
            "refund.updated" or "refund.failed" when webhook.RefundId is not null && webhook.RefundStatus is "failed" or "canceled" => PspNoticeKind.RefundFailed,
            _ => PspNoticeKind.Informational,
        };
        var failureCode = kind == PspNoticeKind.PaymentFailed && webhook.Type.StartsWith("checkout.session.", StringComparison.Ordinal)
            ? webhook.FailureCode ?? "expired"
            : webhook.FailureCode;
        return new PspNotice(webhook.Id, webhook.Type, kind, webhook.PaymentIntentId, failureCode, webhook.FailureMessage, webhook.RefundId, webhook.PspRefundId);
    }
}
