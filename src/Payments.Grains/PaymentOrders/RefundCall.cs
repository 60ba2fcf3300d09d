using Payments.Psp;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// How a refund (the order's, or a late payment's) is asked of the PSP this time: searched for first when its idempotency key
/// may be forgotten (<paramref name="SearchCharge"/>, the charge it refunds), looked up once the PSP has answered for it
/// (<paramref name="LookUpPspRefundId"/>), and otherwise created with its key, which never refunds twice.
/// </summary>
internal sealed record RefundCall(string RefundId, string? SearchCharge, string? LookUpPspRefundId, PspRefundRequest Create);
