using Payments.Core.PaymentOrders;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// Money the PSP took for an order that had already FAILED (a hosted page paid with another card before we closed it):
/// booked as owed back to the buyer, refunded at the PSP once (keyed by the order), and the refund booked.
/// </summary>
[GenerateSerializer, Alias("Payments.Grains.LatePaymentState")]
internal sealed class LatePaymentState
{
    /// <summary>The payment intent that paid the page.</summary>
    [Id(0)]
    public string PaymentIntentId { get; set; } = string.Empty;

    [Id(1)]
    public long AmountMinor { get; set; }

    [Id(2)]
    public DateTimeOffset FoundAt { get; set; }

    [Id(3)]
    public RefundStatus RefundStatus { get; set; }

    [Id(4)]
    public string? PspRefundId { get; set; }

    /// <summary>The PSP has answered for the refund: from then on it is only looked up, never created again.</summary>
    [Id(5)]
    public bool PspAnswered { get; set; }

    [Id(6)]
    public int Attempts { get; set; }

    [Id(7)]
    public DateTimeOffset? NextRetryAt { get; set; }

    [Id(8)]
    public string? FailureCode { get; set; }

    [Id(9)]
    public bool PaymentBooked { get; set; }

    [Id(10)]
    public bool RefundBooked { get; set; }

    [Id(11)]
    public int BookingFailures { get; set; }

    // Computed, so not stored (it has no [Id]); rows written as JSON by earlier builds hold it, and reading ignores it.
    /// <summary>Nothing left to do: the refund is final and what happened is booked.</summary>
    public bool IsSettled => RefundStatus != RefundStatus.Pending && PaymentBooked && (RefundStatus != RefundStatus.Succeeded || RefundBooked);
}
