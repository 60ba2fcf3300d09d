using Payments.Core.Payouts;
using Payments.Grains.PaymentOrders;
using Payments.Grains.Payouts;

namespace Payments.Tests.Unit.Payouts;

/// <summary>Payout states at the points the decision classes are asked about, built as the grain builds them.</summary>
internal static class PayoutStates
{
    public const string PayoutId = "pay_1";

    public static readonly DateTimeOffset CreatedAt = new(2026, 11, 20, 6, 0, 0, TimeSpan.Zero);

    /// <summary>The payment orders' default retry policy, which payouts share: 1 s doubling to 5 min, 10 attempts.</summary>
    public static PaymentOrderOptions.RetryOptions Retry(int attemptsMax = 10) =>
        new() { DelayBase = TimeSpan.FromSeconds(1), DelayMax = TimeSpan.FromMinutes(5), AttemptsMax = attemptsMax };

    public static CreatePayout Command(long? amountMinor = 12_345, string? requestToken = "request_1") =>
        new("merchant_1", "seller_1", "USD", amountMinor, "ba_sim_ok", requestToken);

    /// <summary>Created, reserved in the wallet and booked: what the PSP is asked about.</summary>
    public static PayoutState Reserved(long amountMinor = 12_345)
    {
        var state = PayoutCreation.Open(Command(amountMinor), CreatedAt);
        PayoutCreation.TakeReservation(state, amountMinor, CreatedAt);
        state.ReservationBooked = true;
        return state;
    }

    public static PayoutState InTransit(DateTimeOffset at, string pspPayoutId = "po_sim_1")
    {
        var state = Reserved();
        state.Status = PayoutStatus.InTransit;
        state.PspPayoutId = pspPayoutId;
        state.PspCheckedAt = at;
        state.UpdatedAt = at;
        state.History.Add(new PayoutHistoryEntry(PayoutStatus.InTransit, at));
        return state;
    }

    /// <summary>Paid at <paramref name="at"/>, its paid moves applied: done, and watched for a return.</summary>
    public static PayoutState Paid(DateTimeOffset at)
    {
        var state = InTransit(at);
        state.Status = PayoutStatus.Paid;
        state.History.Add(new PayoutHistoryEntry(PayoutStatus.Paid, at));
        state.PaidWalletUpdated = true;
        state.PaidLedgerUpdated = true;
        return state;
    }
}

/// <summary>Jitter that always picks the top of its range, so a retry delay is exactly the backoff's ceiling.</summary>
internal sealed class HighestJitter : Random
{
    public override long NextInt64(long minValue, long maxValue) => maxValue - 1;

    public override int Next(int minValue, int maxValue) => maxValue - 1;

    public override double NextDouble() => Math.BitDecrement(1.0);
}

/// <summary>Jitter that always picks zero, so a retry delay is exactly what the PSP asked for (or nothing).</summary>
internal sealed class LowestJitter : Random
{
    public override long NextInt64(long minValue, long maxValue) => minValue;

    public override int Next(int minValue, int maxValue) => minValue;

    public override double NextDouble() => 0;
}
