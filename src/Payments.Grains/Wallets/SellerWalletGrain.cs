using Payments.Core.Money;
using Payments.Core.Wallets;

namespace Payments.Grains.Wallets;

/// <summary>One seller's balances. Not reentrant: every change is serialized and written before it is acknowledged.</summary>
internal sealed class SellerWalletGrain(
    [PersistentState("wallet", GrainStorage.Name)] IPersistentState<SellerWalletState> wallet) : Grain, ISellerWalletGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        AssertConsistent();
        return Task.CompletedTask;
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
        if (command.Amount.Minor <= 0)
        {
            throw new ArgumentException("A pending credit must be positive.", nameof(command));
        }

        if (wallet.State.MerchantId is { } owner && owner != command.MerchantId)
        {
            // The checkout claims its sellers first, so this is a bug, not an outcome: never book into another merchant's seller.
            throw new InvalidOperationException($"Seller {this.GetPrimaryKeyString()} belongs to another merchant.");
        }

        return ChangePendingAsync(command.OperationId, command.Amount.Currency.Code, command.Amount.Minor, command.MerchantId);
    }

    public Task<WalletOperationResult> DebitPendingAsync(DebitPendingFunds command)
    {
        if (command.Amount.Minor <= 0)
        {
            throw new ArgumentException("A pending debit must be positive.", nameof(command));
        }

        return ChangePendingAsync(command.OperationId, command.Amount.Currency.Code, -command.Amount.Minor, merchantId: null);
    }

    private async Task<WalletOperationResult> ChangePendingAsync(string operationId, string currency, long deltaMinor, string? merchantId)
    {
        if (wallet.State.AppliedOperations.Contains(operationId))
        {
            return new WalletOperationResult(WalletOperationOutcome.AlreadyApplied);
        }

        var pendingBefore = wallet.State.Balances.TryGetValue(currency, out var existing) ? existing.Pending : 0;
        if (pendingBefore + deltaMinor < 0)
        {
            // Refused before anything changes: a debit that overtook the credit it needs (a refund of money whose
            // failed refund is not credited back yet) is retried by its order until the credit has landed.
            throw new InvalidOperationException(
                $"Wallet {this.GetPrimaryKeyString()} holds {pendingBefore} pending {currency}; cannot take {-deltaMinor} ({operationId}).");
        }

        var balance = BalanceOf(currency);
        var merchantBefore = wallet.State.MerchantId;
        balance.Pending = checked(balance.Pending + deltaMinor);
        wallet.State.MerchantId ??= merchantId;
        wallet.State.AppliedOperations.Add(operationId);
        AssertConsistent();
        // Not stored, so not applied: memory must not claim otherwise, or a retry would be taken for a duplicate.
        await wallet.WriteOrUndoAsync(this, () =>
        {
            balance.Pending -= deltaMinor;
            wallet.State.MerchantId = merchantBefore;
            wallet.State.AppliedOperations.Remove(operationId);
        });

        return new WalletOperationResult(WalletOperationOutcome.Applied);
    }

    public Task<WalletView> GetAsync()
    {
        var balances = wallet.State.Balances
            .OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => new WalletBalance(Currency.Get(pair.Key), pair.Value.Pending, pair.Value.Available, pair.Value.Reserved, pair.Value.PaidOut))
            .ToArray();
        return Task.FromResult(new WalletView(this.GetPrimaryKeyString(), wallet.State.MerchantId, balances));
    }

    private SellerWalletState.CurrencyBalance BalanceOf(string currency)
    {
        if (!wallet.State.Balances.TryGetValue(currency, out var balance))
        {
            balance = new SellerWalletState.CurrencyBalance();
            wallet.State.Balances[currency] = balance;
        }

        return balance;
    }

    private void AssertConsistent()
    {
        foreach (var (currency, balance) in wallet.State.Balances)
        {
            if (balance.Pending < 0 || balance.Available < 0 || balance.Reserved < 0 || balance.PaidOut < 0)
            {
                throw new InvalidOperationException($"Wallet {this.GetPrimaryKeyString()} has a negative {currency} balance.");
            }
        }
    }
}
