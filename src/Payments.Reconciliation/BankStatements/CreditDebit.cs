namespace Payments.Reconciliation.BankStatements;

/// <summary>
/// The direction of an amount on a statement (CdtDbtInd). camt.053 amounts are never negative: the sign is this.
/// </summary>
public enum CreditDebit
{
    /// <summary>CRDT: money into the account.</summary>
    Credit,

    /// <summary>DBIT: money out of the account.</summary>
    Debit,
}
