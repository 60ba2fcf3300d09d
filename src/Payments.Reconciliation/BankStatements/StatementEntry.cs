using Payments.Core.Money;

namespace Payments.Reconciliation.BankStatements;

/// <summary>One entry (Ntry) of a statement: a booking on the account, with what reconciliation can match on.</summary>
/// <param name="Statement">The statement that holds it.</param>
/// <param name="Index">Its position among the entries of its statement, from 0.</param>
/// <param name="Amount">Amt and its Ccy, in minor units, never negative.</param>
/// <param name="CreditDebit">CdtDbtInd: whether the money came in or went out.</param>
/// <param name="IsReversal">RvslInd: the entry undoes an earlier one (a returned transfer); false when absent.</param>
/// <param name="Status">Sts (Sts/Cd or Sts/Prtry in the later versions, such as .001.08): BOOK, PDNG, INFO...</param>
/// <param name="BookingDate">BookgDt: a date without a time (Dt) is its midnight UTC.</param>
/// <param name="ValueDate">ValDt: a date without a time (Dt) is its midnight UTC.</param>
/// <param name="EntryReference">NtryRef: the bank's reference of the entry within the statement.</param>
/// <param name="AccountServicerReference">AcctSvcrRef: the bank's own unique reference of the booking.</param>
/// <param name="BankTransactionCode">BkTxCd: what kind of booking this is; all parts null when absent.</param>
/// <param name="Transactions">NtryDtls/TxDtls: the transactions booked together as this entry, in file order.</param>
public sealed record StatementEntry(
    BankStatement Statement,
    int Index,
    Money Amount,
    CreditDebit CreditDebit,
    bool IsReversal,
    string? Status,
    DateTimeOffset? BookingDate,
    DateTimeOffset? ValueDate,
    string? EntryReference,
    string? AccountServicerReference,
    BankTransactionCode BankTransactionCode,
    IReadOnlyList<TransactionDetails> Transactions)
{
    /// <summary>The amount in minor units, negative for a debit.</summary>
    public long SignedMinor => CreditDebit == CreditDebit.Debit ? -Amount.Minor : Amount.Minor;
}

/// <summary>
/// BkTxCd: the ISO domain/family/sub-family (Domn) and the bank's proprietary code (Prtry/Cd); either may be absent.
/// </summary>
public sealed record BankTransactionCode(string? Domain, string? Family, string? SubFamily, string? Proprietary);

/// <summary>One transaction (TxDtls) of an entry: the references and parties we put on our own transfers.</summary>
/// <param name="Amount">
/// The transaction's own amount (Amt, or AmtDtls/TxAmt/Amt in .001.02) when the bank gives one: in a batch entry
/// it is this transaction's part of the entry's amount.
/// </param>
/// <param name="CreditDebit">CdtDbtInd of the transaction; the entry's when the transaction does not say.</param>
/// <param name="EndToEndId">Refs/EndToEndId: the id the payer gave, carried unchanged to the payee.</param>
/// <param name="InstructionId">Refs/InstrId.</param>
/// <param name="MessageId">Refs/MsgId: the id of the payment message this came from.</param>
/// <param name="PaymentInformationId">Refs/PmtInfId: the batch of a payment initiation.</param>
/// <param name="TransactionId">Refs/TxId: the interbank transaction id.</param>
/// <param name="AccountServicerReference">Refs/AcctSvcrRef: the bank's reference of this transaction.</param>
/// <param name="Debtor">RltdPties/Dbtr and DbtrAcct: who paid; null when the bank does not say.</param>
/// <param name="Creditor">RltdPties/Cdtr and CdtrAcct: who was paid; null when the bank does not say.</param>
/// <param name="UnstructuredRemittance">RmtInf/Ustrd: the free-text lines, in file order.</param>
/// <param name="CreditorReferences">RmtInf/Strd/CdtrRefInf/Ref: structured references (RF creditor references...).</param>
public sealed record TransactionDetails(
    Money? Amount,
    CreditDebit CreditDebit,
    string? EndToEndId,
    string? InstructionId,
    string? MessageId,
    string? PaymentInformationId,
    string? TransactionId,
    string? AccountServicerReference,
    RelatedParty? Debtor,
    RelatedParty? Creditor,
    IReadOnlyList<string> UnstructuredRemittance,
    IReadOnlyList<string> CreditorReferences);

/// <summary>
/// A party of a transaction: its name (Nm, or Pty/Nm in the later versions such as .001.08) and its account, each
/// when the bank gives it.
/// </summary>
public sealed record RelatedParty(string? Name, BankAccountId? Account);
