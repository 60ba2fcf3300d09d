namespace Payments.Psp;

/// <summary>
/// A verified PSP webhook event, reduced to what the payment orders need. Which fields are set depends on
/// <see cref="Type"/>: payment intent events carry the intent, checkout session events the session,
/// refund events (<c>charge.refunded</c>, <c>refund.updated</c>) the refund.
/// </summary>
/// <param name="Id">The event id (<c>evt_...</c>): the unit of deduplication.</param>
/// <param name="Type">The Stripe event type, e.g. <c>payment_intent.succeeded</c>.</param>
/// <param name="Created">When the PSP created the event.</param>
/// <param name="PaymentOrderId">From the object's <c>metadata[payment_order_id]</c> (or a session's <c>client_reference_id</c>).</param>
/// <param name="PaymentIntentId">The payment intent (for a session, the one that paid it).</param>
/// <param name="PaymentIntentStatus">The intent's status, for payment intent events.</param>
/// <param name="FailureCode">For a failed payment: <c>last_payment_error.decline_code</c> or <c>.code</c>.</param>
/// <param name="FailureMessage">For a failed payment: <c>last_payment_error.message</c>.</param>
/// <param name="CheckoutSessionId">For checkout session events.</param>
/// <param name="SessionPaymentStatus">For checkout session events: <c>paid</c> or <c>unpaid</c>.</param>
/// <param name="RefundId">Our refund id, from the refund's <c>metadata[refund_id]</c>.</param>
/// <param name="RefundStatus">For refund events: <c>succeeded</c>, <c>pending</c>, <c>failed</c>.</param>
/// <param name="PayoutId">For payout events: our payout id, from the payout's <c>metadata[payout_id]</c>.</param>
/// <param name="PayoutStatus">For payout events: <c>pending</c>, <c>in_transit</c>, <c>paid</c>, <c>failed</c>, <c>canceled</c>.</param>
/// <param name="PspPayoutId">For payout events: the PSP's id of the payout (<c>po_...</c>).</param>
/// <param name="PspRefundId">For refund events: the PSP's id of the refund (<c>re_...</c>), the one its reports name.</param>
public sealed record PspEvent(
    string Id,
    string Type,
    DateTimeOffset Created,
    string? PaymentOrderId,
    string? PaymentIntentId,
    string? PaymentIntentStatus,
    string? FailureCode,
    string? FailureMessage,
    string? CheckoutSessionId,
    string? SessionPaymentStatus,
    string? RefundId,
    string? RefundStatus,
    string? PayoutId = null,
    string? PayoutStatus = null,
    string? PspPayoutId = null,
    string? PspRefundId = null);

/// <summary>The outcome of checking a webhook: the event, or why it was refused.</summary>
public sealed record PspWebhookVerification(PspEvent? Event, string? Failure)
{
    public bool IsValid => Event is not null;
}
