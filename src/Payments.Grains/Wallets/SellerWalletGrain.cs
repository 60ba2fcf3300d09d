using Microsoft.Extensions.Options;
using Payments.Core.Money;
using Payments.Core.Wallets;
using Payments.Grains.Storage;

namespace Payments.Grains.Wallets;

/// <summary>
/// One seller's balances. Not reentrant: every change is serialized and written before it is acknowledged. Each operation
/// applies once: its id is recorded by the write that applies it (<see cref="WalletOptions.RecordOperationsInTable"/>),
/// and a write whose operation is recorded already writes nothing.
/// </summary>
internal sealed class SellerWalletGrain(
    [PersistentState(SellerWalletGrain.StateName, GrainStorage.Name)] IPersistentState<SellerWalletState> wallet,
    AppliedOperations appliedOperations,
    IOptions<WalletOptions> options,
    TimeProvider time) : Grain, ISellerWalletGrain
{
    private const string StateName = "wallet";

    private readonly bool _inTable = options.Value.RecordOperationsInTable;

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
        await StoreAsync(operationId: null, () => wallet.State.MerchantId = null);

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
            throw SettledAlready(command.OperationId);
        }

        var amount = command.AmountMinor ?? available;
        if (amount <= 0 || amount > available)
        {
            if (await RecordedAsync(command.OperationId))
            {
                throw SettledAlready(command.OperationId);
            }

            // Refused before anything changes: a payout never holds money the seller does not have.
            return new ReserveFundsResult(ReserveFundsOutcome.InsufficientFunds, 0, available);
        }

        var currency = Currency.Get(command.Currency);
        var reserved = await ApplyAsync(new MoveFunds(command.OperationId, new Money(amount, currency), WalletBucket.Available, WalletBucket.Reserved), merchantId: null);
        if (reserved.Outcome == WalletOperationOutcome.AlreadyApplied)
        {
            // Applied, yet held by no reservation: it has settled (only the table knew).
            throw SettledAlready(command.OperationId);
        }

        return new ReserveFundsResult(ReserveFundsOutcome.Reserved, amount, available - amount);
    }

    /// <summary>Reserved and settled since: the payout that asks again is past its reservation and knows its amount.</summary>
    private InvalidOperationException SettledAlready(string operationId) =>
        new($"Reservation {operationId} of {this.GetPrimaryKeyString()} is settled already.");

    /// <summary>
    /// The one way a balance changes: once per operation id, refused before anything changes when it would take a bucket
    /// below what it may hold (unless it is a retry of one applied), and undone in memory when it could not be stored.
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
            return await RefuseAsync(move.OperationId,
                $"Wallet {this.GetPrimaryKeyString()} holds no reservation {settled} of {move.Amount} to settle ({move.OperationId}).");
        }

        if (move.From is { } from && from != WalletBucket.Available && Get(balance, from) < move.Amount.Minor)
        {
            // Refused before anything changes: a move that overtook the one it needs (a refund of money whose failed refund is
            // not credited back yet, say) is retried by its owner until that one has landed. Only available may go below zero.
            return await RefuseAsync(move.OperationId,
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
            if (!_inTable)
            {
                wallet.State.AppliedOperations.Add(move.OperationId);
            }

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
        return new WalletOperationResult(await StoreAsync(move.OperationId, Undo) ? WalletOperationOutcome.Applied : WalletOperationOutcome.AlreadyApplied);
    }

    /// <summary>
    /// A refusal must not refuse a retry of what was applied already (the move it needed may be undone by now, say): the
    /// table knows every operation (the state only those not forgotten), so it is asked, on this rare path only.
    /// </summary>
    private async Task<WalletOperationResult> RefuseAsync(string operationId, string why) =>
        await RecordedAsync(operationId)
            ? new WalletOperationResult(WalletOperationOutcome.AlreadyApplied)
            : throw new InvalidOperationException(why);

    private Task<bool> RecordedAsync(string operationId) => appliedOperations.ContainsAsync(StateName, this.GetGrainId(), operationId);

    /// <summary>
    /// Writes the state and records <paramref name="operationId"/> in the same statement, in either mode: so a silo of
    /// either mode, or one switched from one to the other, knows every operation the other applied. With the operations in
    /// the table the ids an earlier build kept in the state move into the table with the write. False when the operation
    /// was recorded already: nothing was written and memory is as stored again. A failed write undoes memory and rethrows.
    /// </summary>
    private async Task<bool> StoreAsync(string? operationId, Action undo)
    {
        string[] carried = [];
        KeyValuePair<string, DateTimeOffset>[] forgettable = [];
        if (_inTable)
        {
            (carried, forgettable) = (wallet.State.AppliedOperations.ToArray(), wallet.State.ForgettableSince.ToArray());
            wallet.State.AppliedOperations.Clear();
            wallet.State.ForgettableSince.Clear();
        }
        else
        {
            ForgetDueOperations();
        }

        void UndoAll()
        {
            undo();
            wallet.State.AppliedOperations.UnionWith(carried);
            foreach (var (id, since) in forgettable)
            {
                wallet.State.ForgettableSince[id] = since;
            }
        }

        var records = new OperationsToRecord(operationId, carried);
        wallet.State.NextWriteRecords = records;
        try
        {
            await wallet.WriteOrUndoAsync(this, UndoAll);
        }
        finally
        {
            wallet.State.NextWriteRecords = null;
        }

        if (records.AppliedBefore)
        {
            // A retry whose first write landed (its answer lost, say): the balances already hold it.
            UndoAll();
            return false;
        }

        _forgettableUnsaved = false;
        return true;
    }

    public Task ForgetOperationsAsync(IReadOnlyList<string> operationIds)
    {
        if (_inTable)
        {
            // The table keeps every id for good, and those still in the state move there with the next write.
            return Task.CompletedTask;
        }

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
