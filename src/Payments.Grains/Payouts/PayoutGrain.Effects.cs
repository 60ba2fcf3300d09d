using Microsoft.Extensions.Logging;
using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.Wallets;
using Payments.Grains.DeadLetters;
using Payments.Grains.PaymentOrders;

namespace Payments.Grains.Payouts;

/// <summary>The payout's outbox: the ledger and wallet moves its status owes, each applied once however often this runs.</summary>
internal sealed partial class PayoutGrain
{
    private async Task ApplyEffectsAsync()
    {
        var effects = OwedEffects();
        if (effects.Count == 0)
        {
            return;
        }

        if (await effects.CompleteAsync() is { } exception)
        {
            // What failed stays owed: the timer (or, after a crash, the reminder) applies it again, with backoff, until the
            // budget is spent and the payout is parked for an operator.
            State.EffectFailures++;
            State.LastError = $"{exception.GetType().Name}: {exception.Message}";
            var retry = options.Value.Retry;
            if (State.EffectFailures >= retry.AttemptsMax)
            {
                Park(DeadLetterStore.StageEffects);
                LogEffectsParked(logger, exception, PayoutId, State.EffectFailures);
            }
            else
            {
                WakeUp.Arm(RetryDelay.Next(State.EffectFailures, retry.DelayBase, retry.DelayMax, retryAfter: null, Random.Shared));
                LogEffectFailed(logger, exception, PayoutId);
            }
        }

        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
        if (effects.AppliedWalletOperations is { Count: > 0 } applied)
        {
            // Stored as applied, so never sent again (the reservation is settled with them): the wallet need not remember them.
            _ = GrainFactory.GetGrain<ISellerWalletGrain>(State.SellerAccount).ForgetOperationsAsync(applied);
        }

        if (State.DeadLettered)
        {
            await RecordDeadLetterAsync();
        }
    }

    /// <summary>
    /// The moves a payout owes: the reservation's booking (the wallet reserved already); when paid, reserved to the bank
    /// (ledger) and to paid out (wallet); when it failed, reserved back to available; when the bank returned it after it was
    /// paid, the paid moves stand and the money comes back to available from the bank, once they have landed.
    /// </summary>
    private Outbox OwedEffects()
    {
        var amount = new Money(State.AmountMinor, Currency.Get(State.Currency));
        var wallet = GrainFactory.GetGrain<ISellerWalletGrain>(State.SellerAccount);
        var ledger = GrainFactory.GetGrain<ILedgerWriterGrain>(LedgerAccounts.WriterShardFor(PayoutId));
        var available = LedgerAccounts.SellerAvailable(State.SellerAccount);
        var reserved = LedgerAccounts.SellerReserved(State.SellerAccount);
        var bank = LedgerAccounts.Cash(LedgerAccounts.PlatformBank);
        var effects = new Outbox();
        LedgerTransaction Transfer(string kind, string debit, string credit) =>
            LedgerTransaction.Transfer($"{kind}:{PayoutId}", kind, paymentOrderId: null, State.PspPayoutId, debit, credit, amount);

        if (!State.Reserved)
        {
            return effects;
        }

        effects.Owe(State.ReservationBooked, () => ledger.BookAsync(Transfer("payout", available, reserved)), () => State.ReservationBooked = true);
        if (State.WasPaid)
        {
            effects.Owe(State.PaidWalletUpdated, () => wallet.MoveAsync(new MoveFunds($"payout_paid:{PayoutId}", amount, WalletBucket.Reserved, WalletBucket.PaidOut, ReservationId)),
                () => State.PaidWalletUpdated = true, $"payout_paid:{PayoutId}", ReservationId);
            effects.Owe(State.PaidLedgerUpdated, () => ledger.BookAsync(Transfer("payout_paid", reserved, bank)), () => State.PaidLedgerUpdated = true);
        }
        else if (State.Status == Core.Payouts.PayoutStatus.Failed)
        {
            effects.Owe(State.FailedWalletUpdated, () => wallet.MoveAsync(new MoveFunds($"payout_failed:{PayoutId}", amount, WalletBucket.Reserved, WalletBucket.Available, ReservationId)),
                () => State.FailedWalletUpdated = true, $"payout_failed:{PayoutId}", ReservationId);
            effects.Owe(State.FailedLedgerUpdated, () => ledger.BookAsync(Transfer("payout_failed", reserved, available)), () => State.FailedLedgerUpdated = true);
        }

        if (State.ReturnedAfterPaid && effects.Count == 0)
        {
            // The return reverses the paid moves, so it waits for them: the wallet cannot take back what it has not paid out.
            effects.Owe(State.ReturnWalletUpdated, () => wallet.MoveAsync(new MoveFunds($"payout_returned:{PayoutId}", amount, WalletBucket.PaidOut, WalletBucket.Available)),
                () => State.ReturnWalletUpdated = true, $"payout_returned:{PayoutId}");
            effects.Owe(State.ReturnLedgerUpdated, () => ledger.BookAsync(Transfer("payout_returned", bank, available)), () => State.ReturnLedgerUpdated = true);
        }

        return effects;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Payout {PayoutId}: wallet/ledger moves failed {Failures} times; parked as a dead letter")]
    private static partial void LogEffectsParked(ILogger logger, Exception exception, string payoutId, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payout {PayoutId}: a wallet/ledger move failed; will retry")]
    private static partial void LogEffectFailed(ILogger logger, Exception exception, string payoutId);
}
