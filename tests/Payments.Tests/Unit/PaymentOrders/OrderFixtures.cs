using Microsoft.Extensions.Time.Testing;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>Orders in a given state, and the order's rules on a fake clock with the default options, for the unit tests.</summary>
internal static class OrderFixtures
{
    public const string PaymentOrderId = "po_unit_1";

    /// <summary>12,345 minor units of USD: 123.45.</summary>
    public const long AmountMinor = 12_345;

    public static readonly DateTimeOffset Start = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider Clock() => new(Start);

    /// <summary>The rules with the default options (retry 1 s doubling to 5 min, 10 attempts; poll after 1 min; 1 day for the buyer; 23 h key window).</summary>
    public static PaymentOrderRules Rules(TimeProvider time, PaymentOrderOptions? options = null, Random? random = null) =>
        new(PaymentOrderId, options ?? new PaymentOrderOptions(), new FulfillmentOptions(), time, random ?? new CeilingRandom());

    public static PaymentOrderState NewTokenOrder() =>
        PaymentOrderCreation.NewOrder(Command(PaymentMethod.ForToken("pm_card_visa")), Start);

    public static PaymentOrderState NewHostedOrder() =>
        PaymentOrderCreation.NewOrder(Command(PaymentMethod.ForHostedPage("https://shop.example/return")), Start);

    public static CreatePaymentOrder Command(PaymentMethod method, long amountMinor = AmountMinor, string seller = "seller_1") =>
        new("merchant_1", "chk_1", seller, new Money(amountMinor, Currency.Get("USD")), method, "buyer_1");

    /// <summary>A token order the PSP charged (pi_1), its pay-in booked in wallet and ledger unless told otherwise.</summary>
    public static PaymentOrderState Paid(bool booked = true)
    {
        var state = NewTokenOrder();
        state.Status = PaymentOrderStatus.Success;
        state.Attempts = 1;
        state.FirstAttemptAt = Start;
        state.PspReference = "pi_1";
        state.History.Add(new PaymentOrderHistoryEntry(PaymentOrderStatus.Executing, Start));
        state.History.Add(new PaymentOrderHistoryEntry(PaymentOrderStatus.Success, Start.AddSeconds(1)));
        state.WalletUpdated = booked;
        state.LedgerUpdated = booked;
        return state;
    }

    public static RefundState PendingRefund(string refundId = "re_1", long amountMinor = 2_000) => new()
    {
        RefundId = refundId,
        AmountMinor = amountMinor,
        Status = RefundStatus.Pending,
        Reason = "requested_by_customer",
        CreatedAt = Start,
    };
}

/// <summary>Full jitter at its top: every delay is exactly its ceiling, so a test can name it.</summary>
internal sealed class CeilingRandom : Random
{
    public override long NextInt64(long minValue, long maxValue) => maxValue - 1;
}

/// <summary>Full jitter at its bottom: every delay is zero, unless the PSP asked for more.</summary>
internal sealed class FloorRandom : Random
{
    public override long NextInt64(long minValue, long maxValue) => minValue;
}
