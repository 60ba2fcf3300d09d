using Microsoft.Extensions.Logging;
using Payments.Core.Ledger;
using Payments.Core.Wallets;
using Payments.Grains.DeadLetters;

namespace Payments.Grains.Payouts;

/// <summary>The payout's outbox at work: the moves <see cref="PayoutMoneyMoves"/> says are owed, each applied once however often this runs.</summary>
internal sealed partial class PayoutGrain
{
    private async Task ApplyEffectsAsync()
    {
        var owed = PayoutMoneyMoves.Owed(PayoutId, State);
        if (owed.Count == 0)
        {
            return;
        }

        var wallet = GrainFactory.GetGrain<ISellerWalletGrain>(State.SellerAccount);
        var ledger = GrainFactory.GetGrain<ILedgerWriterGrain>(LedgerAccounts.WriterShardFor(PayoutId));
        var effects = new Outbox();
        foreach (var move in owed)
        {
            // Owed is what the state does not show applied.
            switch (move)
            {
                case PayoutMoneyMove.Booking booking:
                    effects.Owe(applied: false, () => ledger.BookAsync(booking.Transaction), () => PayoutMoneyMoves.MarkApplied(State, booking.Flag));
                    break;
                case PayoutMoneyMove.WalletMove walletMove:
                    effects.Owe(applied: false, () => wallet.MoveAsync(walletMove.Move), () => PayoutMoneyMoves.MarkApplied(State, walletMove.Flag), [.. walletMove.SettledOperations]);
                    break;
            }
        }

        if (await effects.CompleteAsync() is { } exception)
        {
            switch (PayoutRetryBudget.AfterEffectsFailed(State, exception, options.Value.Retry, Random.Shared, time.GetUtcNow()))
            {
                case RetryDecision.RetryAfter retry:
                    WakeUp.Arm(retry.Delay);
                    LogEffectFailed(logger, exception, PayoutId);
                    break;
                case RetryDecision.Parked:
                    Parked(DeadLetterStore.StageEffects);
                    LogEffectsParked(logger, exception, PayoutId, State.EffectFailures);
                    break;
            }
        }

        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
        if (effects.AppliedWalletOperations is { Count: > 0 } applied)
        {
            // Stored as applied, so never sent again (the reservation is settled with them): the wallet need not remember them.
            _ = wallet.ForgetOperationsAsync(applied);
        }

        if (State.DeadLettered)
        {
            await RecordDeadLetterAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Payout {PayoutId}: wallet/ledger moves failed {Failures} times; parked as a dead letter")]
    private static partial void LogEffectsParked(ILogger logger, Exception exception, string payoutId, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payout {PayoutId}: a wallet/ledger move failed; will retry")]
    private static partial void LogEffectFailed(ILogger logger, Exception exception, string payoutId);
}
