using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.Payouts;
using Payments.Core.Wallets;

namespace Payments.Grains.Payouts;

/// <summary>
/// The ledger bookings and wallet moves a payout owes, with their ids: the payout's outbox, whose flags in state say what
/// is applied. Each move carries the id that makes applying it again change nothing.
/// </summary>
internal static class PayoutMoneyMoves
{
    /// <summary>The wallet operation that reserves the payout's money; the paid and failed moves release it.</summary>
    public static string ReservationOperationId(string payoutId) => $"payout:{payoutId}";

    /// <summary>
    /// The moves still owed, in the order they are started: the reservation's booking (the wallet reserved already); when
    /// paid, reserved to the bank (ledger) and to paid out (wallet); when it failed, reserved back to available; when the bank
    /// returned it after it was paid, the paid moves stand and the money comes back from the bank to available, once they
    /// have landed (the wallet cannot take back what it has not paid out). Nothing before the wallet has reserved.
    /// </summary>
    public static IReadOnlyList<PayoutMoneyMove> Owed(string payoutId, PayoutState state)
    {
        if (!state.Reserved)
        {
            return [];
        }

        var amount = new Money(state.AmountMinor, Currency.Get(state.Currency));
        var available = LedgerAccounts.SellerAvailable(state.SellerAccount);
        var reserved = LedgerAccounts.SellerReserved(state.SellerAccount);
        var bank = LedgerAccounts.Cash(LedgerAccounts.PlatformBank);
        var reservation = ReservationOperationId(payoutId);
        var owed = new List<PayoutMoneyMove>();
        PayoutMoneyMove.Booking Booking(PayoutMoveFlag flag, string kind, string debit, string credit) =>
            new(flag, LedgerTransaction.Transfer($"{kind}:{payoutId}", kind, paymentOrderId: null, state.PspPayoutId, debit, credit, amount));

        if (!state.ReservationBooked)
        {
            owed.Add(Booking(PayoutMoveFlag.ReservationBooked, "payout", available, reserved));
        }

        if (state.WasPaid)
        {
            var operation = $"payout_paid:{payoutId}";
            if (!state.PaidWalletUpdated)
            {
                owed.Add(new PayoutMoneyMove.WalletMove(
                    PayoutMoveFlag.PaidWalletUpdated, new MoveFunds(operation, amount, WalletBucket.Reserved, WalletBucket.PaidOut, reservation), [operation, reservation]));
            }

            if (!state.PaidLedgerUpdated)
            {
                owed.Add(Booking(PayoutMoveFlag.PaidLedgerUpdated, "payout_paid", reserved, bank));
            }
        }
        else if (state.Status == PayoutStatus.Failed)
        {
            var operation = $"payout_failed:{payoutId}";
            if (!state.FailedWalletUpdated)
            {
                owed.Add(new PayoutMoneyMove.WalletMove(
                    PayoutMoveFlag.FailedWalletUpdated, new MoveFunds(operation, amount, WalletBucket.Reserved, WalletBucket.Available, reservation), [operation, reservation]));
            }

            if (!state.FailedLedgerUpdated)
            {
                owed.Add(Booking(PayoutMoveFlag.FailedLedgerUpdated, "payout_failed", reserved, available));
            }
        }

        if (state.ReturnedAfterPaid && owed.Count == 0)
        {
            var operation = $"payout_returned:{payoutId}";
            if (!state.ReturnWalletUpdated)
            {
                owed.Add(new PayoutMoneyMove.WalletMove(
                    PayoutMoveFlag.ReturnWalletUpdated, new MoveFunds(operation, amount, WalletBucket.PaidOut, WalletBucket.Available), [operation]));
            }

            if (!state.ReturnLedgerUpdated)
            {
                owed.Add(Booking(PayoutMoveFlag.ReturnLedgerUpdated, "payout_returned", bank, available));
            }
        }

        return owed;
    }

    /// <summary>Sets the flag of a move that landed: stored, it is never applied again.</summary>
    public static void MarkApplied(PayoutState state, PayoutMoveFlag flag)
    {
        switch (flag)
        {
            case PayoutMoveFlag.ReservationBooked: state.ReservationBooked = true; break;
            case PayoutMoveFlag.PaidWalletUpdated: state.PaidWalletUpdated = true; break;
            case PayoutMoveFlag.PaidLedgerUpdated: state.PaidLedgerUpdated = true; break;
            case PayoutMoveFlag.FailedWalletUpdated: state.FailedWalletUpdated = true; break;
            case PayoutMoveFlag.FailedLedgerUpdated: state.FailedLedgerUpdated = true; break;
            case PayoutMoveFlag.ReturnWalletUpdated: state.ReturnWalletUpdated = true; break;
            case PayoutMoveFlag.ReturnLedgerUpdated: state.ReturnLedgerUpdated = true; break;
            default: throw new ArgumentOutOfRangeException(nameof(flag), flag, null);
        }
    }
}

/// <summary>The flag in <see cref="PayoutState"/> that says a move is applied; each is named as its flag.</summary>
internal enum PayoutMoveFlag
{
    ReservationBooked,
    PaidWalletUpdated,
    PaidLedgerUpdated,
    FailedWalletUpdated,
    FailedLedgerUpdated,
    ReturnWalletUpdated,
    ReturnLedgerUpdated,
}

/// <summary>One move a payout owes, and the flag that records it applied.</summary>
internal abstract record PayoutMoneyMove(PayoutMoveFlag Flag)
{
    public sealed record Booking(PayoutMoveFlag Flag, LedgerTransaction Transaction) : PayoutMoneyMove(Flag);

    /// <param name="SettledOperations">
    /// The wallet operation ids the move settles for good (its own, and the reservation it releases): once the payout has
    /// stored it applied, it never sends them again, so the wallet may forget them.
    /// </param>
    public sealed record WalletMove(PayoutMoveFlag Flag, MoveFunds Move, IReadOnlyList<string> SettledOperations) : PayoutMoneyMove(Flag);
}
