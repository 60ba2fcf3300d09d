using Payments.Core.PaymentOrders;
using Payments.Psp;

namespace Payments.Api.Webhooks;

/// <summary>What each kind of PSP event means for a payment order.</summary>
public static class PspNotices
{
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
        return new PspNotice(webhook.Id, webhook.Type, kind, webhook.PaymentIntentId, failureCode, webhook.FailureMessage, webhook.RefundId);
    }
}
