namespace Payments.Grains.Checkout;

internal sealed class CheckoutState
{
    public bool Exists { get; set; }

    public string MerchantId { get; set; } = string.Empty;

    public string BuyerId { get; set; } = string.Empty;

    /// <summary>What the checkout was created with, to tell a retry of it from a different request.</summary>
    public string RequestFingerprint { get; set; } = string.Empty;

    public List<string> PaymentOrderIds { get; set; } = [];

    public bool IsPaymentDone { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
