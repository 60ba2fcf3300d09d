namespace Payments.Grains;

/// <summary>
/// The wallet and ledger moves a grain owes, gathered for one round of its outbox: each is started at once (they carry their
/// operation ids, so running them side by side and again is safe), and each that succeeded is marked applied in state.
/// </summary>
internal sealed class Outbox
{
    private readonly List<(Task Applying, Action MarkApplied, string[] WalletOperations)> _moves = [];

    public int Count => _moves.Count;

    /// <summary>
    /// The wallet operation ids of the moves that succeeded in this round: once the owner has stored that they are applied it
    /// never sends them again, so the wallet may forget them (<see cref="Core.Wallets.ISellerWalletGrain.ForgetOperationsAsync"/>).
    /// </summary>
    public IReadOnlyList<string> AppliedWalletOperations =>
        _moves.Where(move => move.Applying.IsCompletedSuccessfully).SelectMany(move => move.WalletOperations).ToArray();

    /// <summary>
    /// Starts <paramref name="apply"/> unless the state says it was <paramref name="applied"/> already. A wallet move names the
    /// wallet operation ids it settles for good (its own, and a reservation it releases).
    /// </summary>
    public void Owe(bool applied, Func<Task> apply, Action markApplied, params string[] walletOperations)
    {
        if (!applied)
        {
            _moves.Add((apply(), markApplied, walletOperations));
        }
    }

    /// <summary>Waits for every move and marks those that succeeded; the first failure comes back (what failed stays owed).</summary>
    public async Task<Exception?> CompleteAsync()
    {
        Exception? failure = null;
        try
        {
            await Task.WhenAll(_moves.Select(move => move.Applying));
        }
        catch (Exception exception)
        {
            // Not swallowed: the caller counts it against its retry budget and parks the work when that runs out.
            failure = exception;
        }

        foreach (var move in _moves.Where(move => move.Applying.IsCompletedSuccessfully))
        {
            move.MarkApplied();
        }

        return failure;
    }
}
