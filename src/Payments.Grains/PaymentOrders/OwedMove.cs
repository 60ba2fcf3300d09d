using Payments.Core.Ledger;
using Payments.Core.Wallets;

namespace Payments.Grains.PaymentOrders;

/// <summary>
/// One wallet or ledger move an order owes, as data: the grain sends it, and <paramref name="MarkApplied"/> sets its flag in
/// state once it landed (stored with the round's write). Each carries its operation id, so sending it again is a no-op.
/// </summary>
internal abstract record OwedMove(Action MarkApplied)
{
    /// <summary>The wallet operation the move settles for good once stored as applied (so the wallet may forget it); null for a booking.</summary>
    public abstract string? WalletOperationId { get; }
}

internal sealed record WalletCredit(CreditPendingFunds Credit, Action MarkApplied) : OwedMove(MarkApplied)
{
    public override string? WalletOperationId => Credit.OperationId;
}

internal sealed record WalletMove(MoveFunds Move, Action MarkApplied) : OwedMove(MarkApplied)
{
    public override string? WalletOperationId => Move.OperationId;
}

internal sealed record LedgerBooking(LedgerTransaction Transaction, Action MarkApplied) : OwedMove(MarkApplied)
{
    public override string? WalletOperationId => null;
}
