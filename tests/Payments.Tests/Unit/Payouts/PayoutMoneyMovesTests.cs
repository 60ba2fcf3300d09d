using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.Payouts;
using Payments.Core.Wallets;
using Payments.Grains.Payouts;

namespace Payments.Tests.Unit.Payouts;

public sealed class PayoutMoneyMovesTests
{
    private static readonly Money Amount = new(12_345, Currency.Get("USD"));

    [Fact]
    public void Nothing_is_owed_before_the_wallet_has_reserved()
    {
        var state = PayoutCreation.Open(PayoutStates.Command(), PayoutStates.CreatedAt);

        Assert.Empty(PayoutMoneyMoves.Owed(PayoutStates.PayoutId, state));
    }

    [Fact]
    public void A_reserved_payout_owes_the_reservations_booking_from_available_to_reserved()
    {
        var state = PayoutStates.Reserved();
        state.ReservationBooked = false;

        var move = Assert.Single(PayoutMoneyMoves.Owed(PayoutStates.PayoutId, state));

        AssertBooking(move, PayoutMoveFlag.ReservationBooked, "payout:pay_1", "payout", pspReference: null,
            debit: "seller_payable:seller_1:available", credit: "seller_payable:seller_1:reserved");
    }

    [Fact]
    public void A_paid_payout_owes_reserved_to_paid_out_in_the_wallet_and_reserved_to_the_bank_in_the_ledger()
    {
        var state = PayoutStates.Paid(PayoutStates.CreatedAt);
        state.PaidWalletUpdated = false;
        state.PaidLedgerUpdated = false;

        var moves = PayoutMoneyMoves.Owed(PayoutStates.PayoutId, state);

        Assert.Equal(2, moves.Count);
        AssertWalletMove(moves[0], PayoutMoveFlag.PaidWalletUpdated,
            new MoveFunds("payout_paid:pay_1", Amount, WalletBucket.Reserved, WalletBucket.PaidOut, "payout:pay_1"), ["payout_paid:pay_1", "payout:pay_1"]);
        AssertBooking(moves[1], PayoutMoveFlag.PaidLedgerUpdated, "payout_paid:pay_1", "payout_paid", "po_sim_1",
            debit: "seller_payable:seller_1:reserved", credit: "cash:platform");
    }

    [Fact]
    public void A_failed_payout_owes_reserved_back_to_available_in_wallet_and_ledger()
    {
        var state = PayoutStates.InTransit(PayoutStates.CreatedAt);
        state.Status = PayoutStatus.Failed;

        var moves = PayoutMoneyMoves.Owed(PayoutStates.PayoutId, state);

        Assert.Equal(2, moves.Count);
        AssertWalletMove(moves[0], PayoutMoveFlag.FailedWalletUpdated,
            new MoveFunds("payout_failed:pay_1", Amount, WalletBucket.Reserved, WalletBucket.Available, "payout:pay_1"), ["payout_failed:pay_1", "payout:pay_1"]);
        AssertBooking(moves[1], PayoutMoveFlag.FailedLedgerUpdated, "payout_failed:pay_1", "payout_failed", "po_sim_1",
            debit: "seller_payable:seller_1:reserved", credit: "seller_payable:seller_1:available");
    }

    [Fact]
    public void A_returned_payout_owes_its_paid_moves_first_and_the_return_only_once_they_landed()
    {
        var state = PayoutStates.Paid(PayoutStates.CreatedAt);
        state.Status = PayoutStatus.Failed;
        state.ReturnedAfterPaid = true;
        state.PaidLedgerUpdated = false;

        Assert.Equal([PayoutMoveFlag.PaidLedgerUpdated], PayoutMoneyMoves.Owed(PayoutStates.PayoutId, state).Select(move => move.Flag));

        state.PaidLedgerUpdated = true;
        var moves = PayoutMoneyMoves.Owed(PayoutStates.PayoutId, state);

        Assert.Equal(2, moves.Count);
        AssertWalletMove(moves[0], PayoutMoveFlag.ReturnWalletUpdated,
            new MoveFunds("payout_returned:pay_1", Amount, WalletBucket.PaidOut, WalletBucket.Available), ["payout_returned:pay_1"]);
        AssertBooking(moves[1], PayoutMoveFlag.ReturnLedgerUpdated, "payout_returned:pay_1", "payout_returned", "po_sim_1",
            debit: "cash:platform", credit: "seller_payable:seller_1:available");
    }

    [Theory]
    [InlineData("ReservationBooked")]
    [InlineData("PaidWalletUpdated")]
    [InlineData("PaidLedgerUpdated")]
    [InlineData("FailedWalletUpdated")]
    [InlineData("FailedLedgerUpdated")]
    [InlineData("ReturnWalletUpdated")]
    [InlineData("ReturnLedgerUpdated")]
    public void Marking_a_move_applied_sets_its_own_flag_and_no_other(string flagName)
    {
        // The flags are named as the state's properties they set.
        var flag = Enum.Parse<PayoutMoveFlag>(flagName);
        var state = new PayoutState();

        PayoutMoneyMoves.MarkApplied(state, flag);

        var set = Enum.GetValues<PayoutMoveFlag>().Where(each => (bool)typeof(PayoutState).GetProperty(each.ToString())!.GetValue(state)!);
        Assert.Equal([flag], set);
    }

    /// <summary>Every status, return and combination of flags: the moves owed are none exactly when the state owes no effects.</summary>
    [Fact]
    public void The_moves_owed_agree_with_owes_effects_in_every_state_of_a_reserved_payout()
    {
        var flags = Enum.GetValues<PayoutMoveFlag>();
        var checkedStates = 0;
        foreach (var (status, returned) in new[] { (PayoutStatus.Pending, false), (PayoutStatus.InTransit, false), (PayoutStatus.Paid, false), (PayoutStatus.Failed, false), (PayoutStatus.Failed, true) })
        {
            for (var applied = 0; applied < 1 << flags.Length; applied++)
            {
                var state = PayoutStates.Reserved();
                state.Status = status;
                state.ReturnedAfterPaid = returned;
                state.ReservationBooked = false;
                foreach (var flag in flags.Where(flag => (applied & (1 << (int)flag)) != 0))
                {
                    PayoutMoneyMoves.MarkApplied(state, flag);
                }

                var owed = PayoutMoneyMoves.Owed(PayoutStates.PayoutId, state);

                Assert.True(state.OwesEffects == owed.Count > 0, $"{status}, returned {returned}, applied {applied}: {owed.Count} owed");
                checkedStates++;
            }
        }

        Assert.Equal(5 * 128, checkedStates);
    }

    private static void AssertBooking(PayoutMoneyMove move, PayoutMoveFlag flag, string externalId, string kind, string? pspReference, string debit, string credit)
    {
        var booking = Assert.IsType<PayoutMoneyMove.Booking>(move);
        Assert.Equal(flag, booking.Flag);
        Assert.Equal(externalId, booking.Transaction.ExternalId);
        Assert.Equal(kind, booking.Transaction.Kind);
        Assert.Null(booking.Transaction.PaymentOrderId);
        Assert.Equal(pspReference, booking.Transaction.PspReference);
        Assert.Equal([new LedgerEntry(debit, EntryDirection.Debit, Amount), new LedgerEntry(credit, EntryDirection.Credit, Amount)], booking.Transaction.Entries);
    }

    private static void AssertWalletMove(PayoutMoneyMove move, PayoutMoveFlag flag, MoveFunds expected, string[] settled)
    {
        var walletMove = Assert.IsType<PayoutMoneyMove.WalletMove>(move);
        Assert.Equal(flag, walletMove.Flag);
        Assert.Equal(expected, walletMove.Move);
        Assert.Equal(settled, walletMove.SettledOperations);
    }
}
