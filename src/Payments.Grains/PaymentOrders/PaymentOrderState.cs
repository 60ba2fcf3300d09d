using Payments.Core.PaymentOrders;

namespace Payments.Grains.PaymentOrders;

/// <summary>The persisted state of one payment order: its terms, state machine and outbox flags.</summary>
internal sealed class PaymentOrderState
{
    /// <summary>History kept in state is bounded; a retried order adds one entry per transition, not per attempt.</summary>
    public const int HistoryLengthMax = 50;

    public bool Exists { get; set; }

    public string MerchantId { get; set; } = string.Empty;

    public string CheckoutId { get; set; } = string.Empty;

    public string SellerAccount { get; set; } = string.Empty;

    public long AmountMinor { get; set; }

    public string Currency { get; set; } = string.Empty;

    public string PaymentMethodToken { get; set; } = string.Empty;

    public string BuyerId { get; set; } = string.Empty;

    public PaymentOrderStatus Status { get; set; }

    public string? PspReference { get; set; }

    public bool WalletUpdated { get; set; }

    public bool LedgerUpdated { get; set; }

    public int Attempts { get; set; }

    public DateTimeOffset? NextRetryAt { get; set; }

    public string? LastError { get; set; }

    public PaymentFailure? Failure { get; set; }

    public long RefundedMinor { get; set; }

    public List<PaymentOrderHistoryEntry> History { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
