namespace Payments.Core.Events;

/// <summary>The events a merchant can receive: what changed, named the way the API names it.</summary>
public static class EventTypes
{
    public const string PaymentOrderSucceeded = "payment_order.succeeded";
    public const string PaymentOrderFailed = "payment_order.failed";
    public const string PaymentOrderRequiresAction = "payment_order.requires_action";
    public const string CheckoutCompleted = "checkout.completed";
    public const string RefundSucceeded = "refund.succeeded";
    public const string RefundFailed = "refund.failed";
    public const string PayoutPaid = "payout.paid";
    public const string PayoutFailed = "payout.failed";

    /// <summary>An endpoint's subscription to every type.</summary>
    public const string Any = "*";

    public static readonly IReadOnlyList<string> All =
    [
        PaymentOrderSucceeded, PaymentOrderFailed, PaymentOrderRequiresAction, CheckoutCompleted, RefundSucceeded, RefundFailed, PayoutPaid, PayoutFailed,
    ];

    public static bool IsKnown(string type) => All.Contains(type, StringComparer.Ordinal);
}
