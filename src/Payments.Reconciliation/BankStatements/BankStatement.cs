using Payments.Core.Money;

namespace Payments.Reconciliation.BankStatements;

/// <summary>
/// One statement (Stmt) of a camt.053 file: everything that comes before its entries. Entries are not held here,
/// so that a statement of any size costs the same memory; each <see cref="StatementEntry"/> points back to it.
/// </summary>
/// <param name="Message">The file's group header.</param>
/// <param name="Id">Id: the bank's identifier of this statement.</param>
/// <param name="ElectronicSequenceNumber">ElctrncSeqNb: numbers a statement series; a gap means a missing statement.</param>
/// <param name="LegalSequenceNumber">LglSeqNb: the sequence number of the paper statement, when the bank gives one.</param>
/// <param name="CreatedAt">CreDtTm: when the bank made the statement.</param>
/// <param name="FromDate">FrToDt/FrDtTm: the start of the period reported, when given.</param>
/// <param name="ToDate">FrToDt/ToDtTm: the end of the period reported, when given.</param>
/// <param name="CopyDuplicateIndicator">CpyDplctInd: CODU, COPY or DUPL when this is not the original.</param>
/// <param name="Account">Acct/Id: whose account this is; not necessarily ours (the caller decides).</param>
/// <param name="Balances">Bal: the balances reported, in file order.</param>
public sealed record BankStatement(
    StatementMessage Message,
    string Id,
    string? ElectronicSequenceNumber,
    string? LegalSequenceNumber,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FromDate,
    DateTimeOffset? ToDate,
    string? CopyDuplicateIndicator,
    BankAccountId Account,
    IReadOnlyList<StatementBalance> Balances);

/// <summary>How an account is identified: an IBAN, or the bank's own scheme (Othr/Id).</summary>
public enum AccountIdScheme
{
    Iban,
    Other,
}

/// <summary>An account identification as the statement gives it (Id/IBAN or Id/Othr/Id).</summary>
public sealed record BankAccountId(AccountIdScheme Scheme, string Value);

/// <summary>A balance (Bal) of a statement.</summary>
/// <param name="Type">Tp/CdOrPrtry: the ISO code (OPBD, CLBD, OPAV, CLAV, ITBD...) or the bank's proprietary type.</param>
/// <param name="Amount">Amt and its Ccy, in minor units, never negative.</param>
/// <param name="CreditDebit">CdtDbtInd: a debit balance is an overdraft.</param>
/// <param name="Date">Dt: a date without a time (Dt/Dt) is its midnight UTC.</param>
public sealed record StatementBalance(string Type, Money Amount, CreditDebit CreditDebit, DateTimeOffset Date)
{
    /// <summary>The amount in minor units, negative for a debit balance.</summary>
    public long SignedMinor => CreditDebit == CreditDebit.Debit ? -Amount.Minor : Amount.Minor;
}
