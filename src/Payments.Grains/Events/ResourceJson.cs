using System.Text.Json;
using Payments.Api.Json;
using Payments.Api.Payments;
using Payments.Api.Payouts;
using Payments.Core.Checkout;
using Payments.Core.PaymentOrders;
using Payments.Core.Payouts;

namespace Payments.Grains.Events;

/// <summary>An event's <c>data</c>: <c>{"object": ...}</c> with the resource exactly as its GET route shows it.</summary>
internal static class ResourceJson
{
    public static string PaymentOrder(PaymentOrderView order) => Data(PaymentOrderResponse.From(order));

    public static string Refund(RefundView refund) => Data(RefundResponse.From(refund));

    public static string Checkout(CheckoutView checkout) => Data(CheckoutResponse.From(checkout));

    public static string Payout(PayoutView payout) => Data(PayoutResponse.From(payout));

    private static string Data<T>(T resource) => JsonSerializer.Serialize(new EventData<T>(resource), ApiJson.Options);

    private sealed record EventData<T>(T Object);
}
