using Payments.Core.Ledger;
using Payments.Core.PaymentOrders;
using Payments.Core.Wallets;
using Payments.Grains.DeadLetters;
using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>The outbox's moves, exactly: operation ids, accounts, directions and amounts in minor units.</summary>
public sealed class PaymentOrderOutboxTests
{
    private const string Receivable = "psp_receivable:stripe";
    private const string Pending = "seller_payable:seller_1:pending";
    private const string Available = "seller_payable:seller_1:available";

    [Fact]
    public void A_paid_order_owes_the_pay_in_credit_and_booking_and_nothing_else_before_them()
    {
        var state = OrderFixtures.Paid(booked: false);
        state.FulfilledAt = OrderFixtures.Start;
        state.FulfilledMinor = OrderFixtures.AmountMinor;
        var outbox = OrderFixtures.Rules(OrderFixtures.Clock()).Outbox;

        var moves = outbox.Owed(state);

        Assert.Equal(2, moves.Count);
        var credit = Assert.IsType<WalletCredit>(moves[0]);
        Assert.Equal("payin:po_unit_1", credit.Credit.OperationId);
        Assert.Equal("merchant_1", credit.Credit.MerchantId);
        Assert.Equal(OrderFixtures.AmountMinor, credit.Credit.Amount.Minor);
        Assert.Equal("payin:po_unit_1", credit.WalletOperationId);
        AssertBooking(moves[1], "payin:po_unit_1", "payin", "pi_1", Receivable, Pending, OrderFixtures.AmountMinor);
        Assert.Null(moves[1].WalletOperationId);

        credit.MarkApplied();
        Assert.True(state.WalletUpdated);
        Assert.False(state.LedgerUpdated);
        var rest = Assert.Single(outbox.Owed(state));
        Assert.IsType<LedgerBooking>(rest);
    }

    [Fact]
    public void After_the_pay_in_come_the_fulfillment_and_each_refund_with_its_reversal()
    {
        var state = OrderFixtures.Paid();
        state.FulfilledAt = OrderFixtures.Start;
        state.FulfilledMinor = 10_345;
        var fromPending = OrderFixtures.PendingRefund("re_1", 2_000);
        fromPending.Status = RefundStatus.Failed;
        fromPending.FailedAfterSuccess = true;
        fromPending.PspRefundId = "pre_1";
        fromPending.ReversalToAvailable = true;
        var fromAvailable = OrderFixtures.PendingRefund("re_2", 300);
        fromAvailable.Status = RefundStatus.Succeeded;
        fromAvailable.FromAvailable = true;
        fromAvailable.PspRefundId = "pre_2";
        var stillPending = OrderFixtures.PendingRefund("re_3", 5);
        state.Refunds.AddRange([fromPending, fromAvailable, stillPending]);

        var moves = OrderFixtures.Rules(OrderFixtures.Clock()).Outbox.Owed(state);

        Assert.Equal(8, moves.Count);
        AssertWalletMove(moves[0], "fulfillment:po_unit_1", 10_345, WalletBucket.Pending, WalletBucket.Available);
        AssertBooking(moves[1], "fulfillment:po_unit_1", "fulfillment", "pi_1", Pending, Available, 10_345);
        AssertWalletMove(moves[2], "refund:re_1", 2_000, WalletBucket.Pending, to: null);
        AssertBooking(moves[3], "refund:re_1", "refund", "pre_1", Pending, Receivable, 2_000);
        AssertWalletMove(moves[4], "refund_failed:re_1", 2_000, from: null, WalletBucket.Available);
        AssertBooking(moves[5], "refund_failed:re_1", "refund_failed", "pre_1", Receivable, Available, 2_000);
        AssertWalletMove(moves[6], "refund:re_2", 300, WalletBucket.Available, to: null);
        AssertBooking(moves[7], "refund:re_2", "refund", "pre_2", Available, Receivable, 300);

        foreach (var move in moves)
        {
            move.MarkApplied();
        }

        Assert.Empty(OrderFixtures.Rules(OrderFixtures.Clock()).Outbox.Owed(state));
        Assert.True(state.Refunds.All(refund => !refund.OwesEffects));
        Assert.False(state.OwesFulfillmentEffects);
    }

    [Fact]
    public void Nothing_left_after_refunds_moves_nothing_at_fulfillment()
    {
        var state = OrderFixtures.Paid();
        state.FulfilledAt = OrderFixtures.Start;
        state.FulfilledMinor = 0;

        Assert.Empty(OrderFixtures.Rules(OrderFixtures.Clock()).Outbox.Owed(state));
    }

    [Fact]
    public void A_late_payment_is_booked_as_owed_back_and_its_refund_as_paid_back()
    {
        var state = OrderFixtures.NewHostedOrder();
        state.Status = PaymentOrderStatus.Failed;
        var late = new LatePaymentState { PaymentIntentId = "pi_late", AmountMinor = OrderFixtures.AmountMinor, RefundStatus = RefundStatus.Pending };
        var outbox = OrderFixtures.Rules(OrderFixtures.Clock()).Outbox;

        var beforeRefund = outbox.OwedForLatePayment(state, late);
        late.RefundStatus = RefundStatus.Succeeded;
        late.PspRefundId = "pre_late";
        var afterRefund = outbox.OwedForLatePayment(state, late);

        AssertBooking(Assert.Single(beforeRefund), "late_payment:po_unit_1", "late_payment", "pi_late", Receivable, "late_payments:stripe", OrderFixtures.AmountMinor);
        Assert.Equal(2, afterRefund.Count);
        AssertBooking(afterRefund[1], "late_payment_refund:po_unit_1", "late_payment_refund", "pre_late", "late_payments:stripe", Receivable, OrderFixtures.AmountMinor);
        afterRefund[0].MarkApplied();
        afterRefund[1].MarkApplied();
        Assert.True(late.IsSettled);
    }

    [Fact]
    public void A_failed_round_backs_off_and_the_tenth_parks_the_order_at_stage_effects()
    {
        var time = OrderFixtures.Clock();
        var state = OrderFixtures.Paid(booked: false);
        var outbox = OrderFixtures.Rules(time).Outbox;
        var failure = new InvalidOperationException("ledger down");

        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(1)), outbox.AfterFailedRound(state, failure));
        Assert.Equal(WakeUp.Retry(TimeSpan.FromSeconds(2)), outbox.AfterFailedRound(state, failure));
        for (var round = 3; round < 10; round++)
        {
            Assert.NotNull(outbox.AfterFailedRound(state, failure));
        }

        Assert.Null(outbox.AfterFailedRound(state, failure));
        Assert.Equal(10, state.EffectFailures);
        Assert.Equal("InvalidOperationException: ledger down", state.LastError);
        Assert.True(state.DeadLettered);
        Assert.Equal(DeadLetterStore.StageEffects, state.DeadLetterStage);
    }

    private static void AssertBooking(OwedMove move, string externalId, string kind, string? pspReference, string debit, string credit, long amountMinor)
    {
        var booking = Assert.IsType<LedgerBooking>(move).Transaction;
        Assert.Equal(externalId, booking.ExternalId);
        Assert.Equal(kind, booking.Kind);
        Assert.Equal(OrderFixtures.PaymentOrderId, booking.PaymentOrderId);
        Assert.Equal(pspReference, booking.PspReference);
        Assert.Equal(
            [(debit, EntryDirection.Debit, amountMinor, "USD"), (credit, EntryDirection.Credit, amountMinor, "USD")],
            booking.Entries.Select(entry => (entry.Account, entry.Direction, entry.Amount.Minor, entry.Amount.Currency.Code)));
    }

    private static void AssertWalletMove(OwedMove move, string operationId, long amountMinor, WalletBucket? from, WalletBucket? to)
    {
        var walletMove = Assert.IsType<WalletMove>(move);
        Assert.Equal(operationId, walletMove.Move.OperationId);
        Assert.Equal(amountMinor, walletMove.Move.Amount.Minor);
        Assert.Equal(from, walletMove.Move.From);
        Assert.Equal(to, walletMove.Move.To);
        Assert.Null(walletMove.Move.ReleasesReservation);
        Assert.Equal(operationId, walletMove.WalletOperationId);
    }
}
