namespace Payments.Psp;

/// <summary>One charge at the PSP for one payment order.</summary>
/// <param name="PaymentOrderId">The payment order id; also the PSP idempotency key.</param>
/// <param name="AmountMinor">The amount in minor units of <paramref name="Currency"/>.</param>
/// <param name="Currency">ISO 4217 alpha-3 code, upper case.</param>
/// <param name="PaymentMethodToken">A PSP payment method token such as <c>pm_card_visa</c>.</param>
/// <param name="Metadata">Extra metadata stored with the charge at the PSP.</param>
public sealed record PspChargeRequest(
    string PaymentOrderId,
    long AmountMinor,
    string Currency,
    string PaymentMethodToken,
    IReadOnlyDictionary<string, string> Metadata);
