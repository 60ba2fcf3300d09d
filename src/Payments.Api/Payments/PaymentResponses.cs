using Payments.Core.Checkout;
using Payments.Core.PaymentOrders;

namespace Payments.Api.Payments;

public sealed record BuyerResponse(string Id);

public sealed record NextActionResponse(string Type, string Url);

public sealed record FailureResponse(string Code, string Message, bool Retryable);

public sealed record HistoryEntryResponse(string Status, DateTime At);

public sealed record RefundResponse(string RefundId, string PaymentOrderId, string Amount, string Currency, string Status, string? Reason, DateTime CreatedAt)
{
    public static RefundResponse From(RefundView refund) => new(
        refund.RefundId,
        refund.PaymentOrderId,
        refund.Amount.ToDecimalString(),
        refund.Amount.Currency.Code,
        refund.Status switch
        {
            RefundStatus.Pending => "PENDING",
            RefundStatus.Succeeded => "SUCCEEDED",
            RefundStatus.Failed => "FAILED",
            _ => throw new ArgumentOutOfRangeException(nameof(refund), refund.Status, null),
        },
        refund.Reason,
        refund.CreatedAt.UtcDateTime);
}

public sealed record PaymentOrderResponse(
    string PaymentOrderId,
    string CheckoutId,
    string SellerAccount,
    string Amount,
    string Currency,
    string Status,
    string? PspReference,
    bool WalletUpdated,
    bool LedgerUpdated,
    int Attempts,
    DateTime? NextRetryAt,
    FailureResponse? Failure,
    string RefundedAmount,
    IReadOnlyList<HistoryEntryResponse> History,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    NextActionResponse? NextAction,
    IReadOnlyList<RefundResponse> Refunds,
    DateTime? FulfilledAt)
{
    public static PaymentOrderResponse From(PaymentOrderView order) => new(
        order.PaymentOrderId,
        order.CheckoutId,
        order.SellerAccount,
        order.Amount.ToDecimalString(),
        order.Amount.Currency.Code,
        order.Status.ToWireName(),
        order.PspReference,
        order.WalletUpdated,
        order.LedgerUpdated,
        order.Attempts,
        order.NextRetryAt?.UtcDateTime,
        order.Failure is { } failure ? new FailureResponse(failure.Code, failure.Message, failure.Retryable) : null,
        order.RefundedAmount.ToDecimalString(),
        order.History.Select(entry => new HistoryEntryResponse(entry.Status.ToWireName(), entry.At.UtcDateTime)).ToArray(),
        order.CreatedAt.UtcDateTime,
        order.UpdatedAt.UtcDateTime,
        order.ActionUrl is { } url ? new NextActionResponse("redirect", url) : null,
        order.Refunds.Select(RefundResponse.From).ToArray(),
        order.FulfilledAt?.UtcDateTime);
}

public sealed record CheckoutResponse(
    string CheckoutId,
    string Status,
    bool IsPaymentDone,
    BuyerResponse Buyer,
    IReadOnlyList<PaymentOrderResponse> Orders,
    NextActionResponse? NextAction,
    DateTime CreatedAt,
    DateTime UpdatedAt)
{
    public static CheckoutResponse From(CheckoutView checkout) => new(
        checkout.CheckoutId,
        checkout.Status.ToWireName(),
        checkout.IsPaymentDone,
        new BuyerResponse(checkout.BuyerId),
        checkout.Orders.Select(PaymentOrderResponse.From).ToArray(),
        checkout.NextActionUrl is { } url ? new NextActionResponse("redirect", url) : null,
        checkout.CreatedAt.UtcDateTime,
        checkout.UpdatedAt.UtcDateTime);
}
