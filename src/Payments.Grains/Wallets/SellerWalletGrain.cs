using Microsoft.Extensions.Options;
using Payments.Core.Money;
using Payments.Core.Wallets;

namespace Payments.Grains.Wallets;

/// <summary>One seller's balances. Not reentrant: every change is serialized and written before it is acknowledged.</summary>
internal sealed class SellerWalletGrain(
    [PersistentState("wallet", GrainStorage.Name)] IPersistentState<SellerWalletState> wallet,
    IOptions<WalletOptions> options,
    TimeProvider time) : Grain, ISellerWalletGrain
{
    /// <summary>Forget notices taken since the last write: stored with the next change, or when the wallet deactivates.</summary>
    private bool _forgettableUnsaved;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        AssertConsistent();
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_forgettableUnsaved && wallet.State.MerchantId is not null)
        {
            // Otherwise the notices are lost with the activation and those ids stay for good. A failure here only leaves them.
            ForgetDueOperations();
            try
            {
                await wallet.WriteStateAsync(cancellationToken);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // Storage keeps the ids a little longer: only the set's size suffers, never a balance.
            }
        }
    }

    public async Task<ClaimSellerResult> ClaimAsync(ClaimSeller command)
    {
        if (wallet.State.MerchantId is { } owner)
        {
            return new ClaimSellerResult(owner == command.MerchantId ? ClaimSellerOutcome.AlreadyOwned : ClaimSellerOutcome.OwnedByOtherMerchant);
        }

        wallet.State.MerchantId = command.MerchantId;
        await wallet.WriteOrUndoAsync(this, () => wallet.State.MerchantId = null);

        return new ClaimSellerResult(ClaimSellerOutcome.Claimed);
    }

    public Task<WalletOperationResult> CreditPendingAsync(CreditPendingFunds command)
    {
        if (wallet.State.MerchantId is { } owner && owner != command.MerchantId)
        {
            // The checkout claims its sellers first, so this is a bug, not an outcome: never book into another merchant's seller.
            throw new InvalidOperationException($"Seller {this.GetPrimaryKeyString()} belongs to another merchant.");
        }

        return ApplyAsync(new MoveFunds(command.OperationId, command.Amount, From: null, To: WalletBucket.Pending), command.MerchantId);
    }

    public Task<WalletOperationResult> MoveAsync(MoveFunds command)
    {
        if (command.From == WalletBucket.Available && command.To == WalletBucket.Reserved)
        {
            throw new ArgumentException("Reservations go through ReserveAsync, which refuses what is not available.", nameof(command));
        }

        return ApplyAsync(command, merchantId: null);
    }

    public async Task<ReserveFundsResult> ReserveAsync(ReserveFunds command)
    {
        var available = wallet.State.Balances.TryGetValue(command.Currency, out var existing) ? existing.Available : 0;
        if (wallet.State.Reservations.TryGetValue(command.OperationId, out var earlier))
        {
            return new ReserveFundsResult(ReserveFundsOutcome.AlreadyReserved, earlier.AmountMinor, available);
        }

        if (wallet.State.AppliedOperations.Contains(command.OperationId))
        {
            // Reserved and settled since: the payout that asks again is past its reservation and knows its amount.
            throw new InvalidOperationException($"Reservation {command.OperationId} of {this.GetPrimaryKeyString()} is settled already.");
        }

        var amount = command.AmountMinor ?? available;
        if (amount <= 0 || amount > available)
        {
            // Refused before anything changes: a payout never holds money the seller does not have.
            return new ReserveFundsResult(ReserveFundsOutcome.InsufficientFunds, 0, available);
        }

        var currency = Currency.Get(command.Currency);
        await ApplyAsync(new MoveFunds(command.OperationId, new Money(amount, currency), WalletBucket.Available, WalletBucket.Reserved), merchantId: null);
        return new ReserveFundsResult(ReserveFundsOutcome.Reserved, amount, available - amount);
    }

    /// <summary>
    /// The one way a balance changes: once per operation id, refused before anything changes when it would take a bucket
    /// below what it may hold, and undone in memory when it could not be stored.
    /// </summary>
    private async Task<WalletOperationResult> ApplyAsync(MoveFunds move, string? merchantId)
    {
        if (move.Amount.Minor <= 0)
        {
            throw new ArgumentException("A wallet move must be positive.", nameof(move));
        }

        if (move.From == move.To || (move.From is null && move.To is null))
        {
            throw new ArgumentException($"A wallet move goes somewhere: {move.From} -> {move.To}.", nameof(move));
        }

        if (wallet.State.AppliedOperations.Contains(move.OperationId))
        {
            return new WalletOperationResult(WalletOperationOutcome.AlreadyApplied);
        }

        var currency = move.Amount.Currency.Code;
        var balance = wallet.State.Balances.TryGetValue(currency, out var existing) ? existing : new SellerWalletState.CurrencyBalance();
        if (move.ReleasesReservation is { } settled && (!wallet.State.Reservations.TryGetValue(settled, out var reservation)
            || reservation.Currency != currency || reservation.AmountMinor != move.Amount.Minor))
        {
            // A payout settles exactly what it reserved: anything else is a bug, never a partial release.
            throw new InvalidOperationException($"Wallet {this.GetPrimaryKeyString()} holds no reservation {settled} of {move.Amount} to settle ({move.OperationId}).");
        }

        if (move.From is { } from && from != WalletBucket.Available && Get(balance, from) < move.Amount.Minor)
        {
            // Refused before anything changes: a move that overtook the one it needs (a refund of money whose failed refund is
            // not credited back yet, say) is retried by its owner until that one has landed. Only available may go below zero.
            throw new InvalidOperationException(
                $"Wallet {this.GetPrimaryKeyString()} holds {Get(balance, from)} {from} {currency}; cannot take {move.Amount.Minor} ({move.OperationId}).");
        }

        var released = move.ReleasesReservation is { } reservationId && wallet.State.Reservations.TryGetValue(reservationId, out var held) ? held : null;
        var hadBalance = wallet.State.Balances.ContainsKey(currency);
        var before = (balance.Pending, balance.Available, balance.Reserved, balance.PaidOut, wallet.State.MerchantId);
        void Undo()
        {
            (balance.Pending, balance.Available, balance.Reserved, balance.PaidOut, wallet.State.MerchantId) = before;
            if (!hadBalance)
            {
                wallet.State.Balances.Remove(currency);
            }

            wallet.State.AppliedOperations.Remove(move.OperationId);
            if (move.To == WalletBucket.Reserved)
            {
                wallet.State.Reservations.Remove(move.OperationId);
            }

            if (released is not null)
            {
                wallet.State.Reservations[move.ReleasesReservation!] = released;
            }
        }

        try
        {
            wallet.State.Balances[currency] = balance;
            Change(balance, move.From, move.To, move.Amount.Minor);
            wallet.State.MerchantId ??= merchantId;
            wallet.State.AppliedOperations.Add(move.OperationId);
            if (move.To == WalletBucket.Reserved)
            {
                wallet.State.Reservations[move.OperationId] = new SellerWalletState.Reservation(currency, move.Amount.Minor);
            }

            if (released is not null)
            {
                wallet.State.Reservations.Remove(move.ReleasesReservation!);
            }

            AssertConsistent();
        }
        catch
        {
            // An overflow or a broken rule is a bug: memory goes back to what is stored, and nothing is written.
            Undo();
            throw;
        }

        // Not stored, so not applied: memory must not claim otherwise, or a retry would be taken for a duplicate.
        ForgetDueOperations();
        await wallet.WriteOrUndoAsync(this, Undo);
        _forgettableUnsaved = false;
        return new WalletOperationResult(WalletOperationOutcome.Applied);
    }

    public Task ForgetOperationsAsync(IReadOnlyList<string> operationIds)
    {
        // Only noted: the id is dropped Wallets:ForgetAfter later, by a write that happens anyway (the next change, or the
        // deactivation), so the pay-in path pays no extra write. Keeping an id longer is always safe.
        var now = time.GetUtcNow();
        foreach (var operationId in operationIds)
        {
            if (wallet.State.AppliedOperations.Contains(operationId) && wallet.State.ForgettableSince.TryAdd(operationId, now))
            {
                _forgettableUnsaved = true;
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Drops the ids whose senders said long enough ago that they will never send them again; an open reservation's stays.</summary>
    private void ForgetDueOperations()
    {
        var before = time.GetUtcNow() - options.Value.ForgetAfter;
        foreach (var (operationId, since) in wallet.State.ForgettableSince.ToArray())
        {
            if (since <= before && !wallet.State.Reservations.ContainsKey(operationId))
            {
                wallet.State.AppliedOperations.Remove(operationId);
                wallet.State.ForgettableSince.Remove(operationId);
            }
        }
    }

    public Task<WalletView> GetAsync()
    {
        var balances = wallet.State.Balances
            .OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => new WalletBalance(Currency.Get(pair.Key), pair.Value.Pending, pair.Value.Available, pair.Value.Reserved, pair.Value.PaidOut))
            .ToArray();
        return Task.FromResult(new WalletView(this.GetPrimaryKeyString(), wallet.State.MerchantId, balances));
    }

    private static long Get(SellerWalletState.CurrencyBalance balance, WalletBucket bucket) => bucket switch
    {
        WalletBucket.Pending => balance.Pending,
        WalletBucket.Available => balance.Available,
        WalletBucket.Reserved => balance.Reserved,
        WalletBucket.PaidOut => balance.PaidOut,
        _ => throw new ArgumentOutOfRangeException(nameof(bucket), bucket, null),
    };

    private static void Change(SellerWalletState.CurrencyBalance balance, WalletBucket? from, WalletBucket? to, long amountMinor)
    {
        if (from is { } source)
        {
            Add(balance, source, -amountMinor);
        }

        if (to is { } target)
        {
            Add(balance, target, amountMinor);
        }
    }

    private static void Add(SellerWalletState.CurrencyBalance balance, WalletBucket bucket, long deltaMinor)
    {
        switch (bucket)
        {
            case WalletBucket.Pending:
                balance.Pending = checked(balance.Pending + deltaMinor);
                break;
            case WalletBucket.Available:
                balance.Available = checked(balance.Available + deltaMinor);
                break;
            case WalletBucket.Reserved:
                balance.Reserved = checked(balance.Reserved + deltaMinor);
                break;
            case WalletBucket.PaidOut:
                balance.PaidOut = checked(balance.PaidOut + deltaMinor);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(bucket), bucket, null);
        }
    }

    private void AssertConsistent()
    {
        foreach (var (currency, balance) in wallet.State.Balances)
        {
            // Available alone may be negative: a refund of a fulfilled order that was paid out already (the seller owes us).
            if (balance.Pending < 0 || balance.Reserved < 0 || balance.PaidOut < 0)
            {
                throw new InvalidOperationException($"Wallet {this.GetPrimaryKeyString()} has a negative {currency} balance.");
            }

            var held = wallet.State.Reservations.Values.Where(reservation => reservation.Currency == currency).Sum(reservation => reservation.AmountMinor);
            if (held != balance.Reserved)
            {
                throw new InvalidOperationException($"Wallet {this.GetPrimaryKeyString()} reserves {balance.Reserved} {currency} but its payouts hold {held}.");
            }
        }
    }
}
