using Payments.Core.Money;

namespace Payments.Reconciliation.BankStatements;

/// <summary>
/// Reads one entry (Ntry) at the cursor, with its transactions, taking what the model keeps as it passes and
/// skipping the rest. The elements are the same in .001.02 to .001.08; where a later version wraps a value
/// (Sts/Cd, Dbtr/Pty/Nm) both forms are read.
/// </summary>
internal sealed class Camt053EntryReader(Camt053XmlCursor cursor, Camt053ValueReader values)
{
    public async ValueTask<StatementEntry> ReadEntryAsync(BankStatement statement, int index)
    {
        var at = cursor.Position;
        Money? amount = null;
        CreditDebit? creditDebit = null;
        var isReversal = false;
        string? status = null, entryReference = null, accountServicerReference = null;
        DateTimeOffset? bookingDate = null, valueDate = null;
        var bankTransactionCode = new BankTransactionCode(null, null, null, null);
        var transactions = new List<TransactionParts>();

        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "Amt":
                    amount = await values.ReadMoneyAsync("the amount of an entry");
                    break;
                case "CdtDbtInd":
                    creditDebit = await values.ReadCreditDebitAsync();
                    break;
                case "RvslInd":
                    isReversal = await values.ReadBooleanAsync();
                    break;
                case "Sts":
                    // A plain code in the early versions, Cd or Prtry inside it in the later ones (.001.08):
                    // the text inside is the status either way.
                    status = (await cursor.ReadOptionalTextAsync())?.Trim();
                    break;
                case "BookgDt":
                    bookingDate = await values.ReadDateChoiceAsync();
                    break;
                case "ValDt":
                    valueDate = await values.ReadDateChoiceAsync();
                    break;
                case "NtryRef":
                    entryReference = await cursor.ReadOptionalTextAsync();
                    break;
                case "AcctSvcrRef":
                    accountServicerReference = await cursor.ReadOptionalTextAsync();
                    break;
                case "BkTxCd":
                    bankTransactionCode = await ReadBankTransactionCodeAsync();
                    break;
                case "NtryDtls":
                    await ReadEntryDetailsAsync(transactions);
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        var money = amount ?? throw Camt053XmlCursor.Invalid("an entry (Ntry) has no amount (Amt)", at);
        var direction = creditDebit ?? throw Camt053XmlCursor.Invalid("an entry (Ntry) has no credit/debit indicator (CdtDbtInd)", at);
        return new StatementEntry(
            statement, index, money, direction, isReversal, status, bookingDate, valueDate, entryReference, accountServicerReference,
            bankTransactionCode, [.. transactions.Select(parts => parts.Build(direction))]);
    }

    private async ValueTask ReadEntryDetailsAsync(List<TransactionParts> transactions)
    {
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            if (cursor.CamtName == "TxDtls")
            {
                transactions.Add(await ReadTransactionAsync());
            }
            else
            {
                await cursor.SkipAsync();
            }
        }
    }

    private async ValueTask<TransactionParts> ReadTransactionAsync()
    {
        var parts = new TransactionParts();
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "Refs":
                    await ReadReferencesAsync(parts);
                    break;
                case "Amt":
                    parts.Amount = await values.ReadMoneyAsync("the amount of a transaction (TxDtls)");
                    break;
                case "AmtDtls":
                    // .001.02 has no TxDtls/Amt: its transaction amount is AmtDtls/TxAmt/Amt.
                    parts.Amount ??= await cursor.ReadChildAsync("TxAmt", () => cursor.ReadChildAsync<Money?>(
                        "Amt", async () => await values.ReadMoneyAsync("the amount of a transaction (TxDtls/AmtDtls/TxAmt)")));
                    break;
                case "CdtDbtInd":
                    parts.CreditDebit = await values.ReadCreditDebitAsync();
                    break;
                case "RltdPties":
                    await ReadRelatedPartiesAsync(parts);
                    break;
                case "RmtInf":
                    await ReadRemittanceAsync(parts);
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        return parts;
    }

    private async ValueTask ReadReferencesAsync(TransactionParts parts)
    {
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "EndToEndId":
                    parts.EndToEndId = await cursor.ReadOptionalTextAsync();
                    break;
                case "InstrId":
                    parts.InstructionId = await cursor.ReadOptionalTextAsync();
                    break;
                case "MsgId":
                    parts.MessageId = await cursor.ReadOptionalTextAsync();
                    break;
                case "PmtInfId":
                    parts.PaymentInformationId = await cursor.ReadOptionalTextAsync();
                    break;
                case "TxId":
                    parts.TransactionId = await cursor.ReadOptionalTextAsync();
                    break;
                case "AcctSvcrRef":
                    parts.AccountServicerReference = await cursor.ReadOptionalTextAsync();
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }
    }

    private async ValueTask ReadRelatedPartiesAsync(TransactionParts parts)
    {
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "Dbtr":
                    parts.DebtorName = await ReadPartyNameAsync();
                    parts.HasDebtor = true;
                    break;
                case "DbtrAcct":
                    parts.DebtorAccount = await values.ReadAccountAsync();
                    break;
                case "Cdtr":
                    parts.CreditorName = await ReadPartyNameAsync();
                    parts.HasCreditor = true;
                    break;
                case "CdtrAcct":
                    parts.CreditorAccount = await values.ReadAccountAsync();
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }
    }

    // Dbtr/Nm in the early versions; the later ones (.001.08) wrap the party: Dbtr/Pty/Nm, or Dbtr/Agt for a bank,
    // which has no name here.
    private async ValueTask<string?> ReadPartyNameAsync()
    {
        string? name = null;
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "Nm":
                    name = await cursor.ReadOptionalTextAsync();
                    break;
                case "Pty":
                    name = await ReadPartyNameAsync();
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        return name;
    }

    private async ValueTask ReadRemittanceAsync(TransactionParts parts)
    {
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "Ustrd":
                    parts.UnstructuredRemittance.Add(await cursor.ReadTextAsync());
                    break;
                case "Strd":
                    // Strd/CdtrRefInf/Ref: a structured reference such as an RF creditor reference.
                    if (await cursor.ReadChildAsync("CdtrRefInf", () => cursor.ReadChildTextAsync("Ref")) is { } reference)
                    {
                        parts.CreditorReferences.Add(reference);
                    }

                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }
    }

    // BkTxCd: Domn/Cd, Domn/Fmly/Cd, Domn/Fmly/SubFmlyCd and Prtry/Cd.
    private async ValueTask<BankTransactionCode> ReadBankTransactionCodeAsync()
    {
        string? domain = null, family = null, subFamily = null, proprietary = null;
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "Domn":
                    var domainDepth = await cursor.EnterAsync();
                    while (await cursor.NextChildAsync(domainDepth))
                    {
                        switch (cursor.CamtName)
                        {
                            case "Cd":
                                domain = await cursor.ReadOptionalTextAsync();
                                break;
                            case "Fmly":
                                (family, subFamily) = await ReadFamilyAsync();
                                break;
                            default:
                                await cursor.SkipAsync();
                                break;
                        }
                    }

                    break;
                case "Prtry":
                    proprietary = await cursor.ReadChildTextAsync("Cd");
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        return new BankTransactionCode(domain, family, subFamily, proprietary);
    }

    private async ValueTask<(string? Family, string? SubFamily)> ReadFamilyAsync()
    {
        string? family = null, subFamily = null;
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "Cd":
                    family = await cursor.ReadOptionalTextAsync();
                    break;
                case "SubFmlyCd":
                    subFamily = await cursor.ReadOptionalTextAsync();
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        return (family, subFamily);
    }

    // A transaction as it is read; its direction is the entry's unless it gives its own, and the entry's is only
    // known for sure once the whole entry is read.
    private sealed class TransactionParts
    {
        public Money? Amount { get; set; }

        public CreditDebit? CreditDebit { get; set; }

        public string? EndToEndId { get; set; }

        public string? InstructionId { get; set; }

        public string? MessageId { get; set; }

        public string? PaymentInformationId { get; set; }

        public string? TransactionId { get; set; }

        public string? AccountServicerReference { get; set; }

        public bool HasDebtor { get; set; }

        public string? DebtorName { get; set; }

        public BankAccountId? DebtorAccount { get; set; }

        public bool HasCreditor { get; set; }

        public string? CreditorName { get; set; }

        public BankAccountId? CreditorAccount { get; set; }

        public List<string> UnstructuredRemittance { get; } = [];

        public List<string> CreditorReferences { get; } = [];

        public TransactionDetails Build(CreditDebit entryCreditDebit) =>
            new(Amount,
                CreditDebit ?? entryCreditDebit,
                EndToEndId,
                InstructionId,
                MessageId,
                PaymentInformationId,
                TransactionId,
                AccountServicerReference,
                Party(HasDebtor, DebtorName, DebtorAccount),
                Party(HasCreditor, CreditorName, CreditorAccount),
                UnstructuredRemittance,
                CreditorReferences);

        // A party the bank names, or of which it gives only the account.
        private static RelatedParty? Party(bool present, string? name, BankAccountId? account) =>
            present || account is not null ? new RelatedParty(name, account) : null;
    }
}
