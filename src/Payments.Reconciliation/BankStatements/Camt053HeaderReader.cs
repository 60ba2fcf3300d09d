using System.Collections.Frozen;
using Payments.Core.Money;

namespace Payments.Reconciliation.BankStatements;

/// <summary>
/// Reads the group header (GrpHdr) and what a statement (Stmt) gives before its first entry: the schema puts its
/// id, dates, account and balances there, so a statement is complete when its entries start.
/// </summary>
internal sealed class Camt053HeaderReader(Camt053XmlCursor cursor, Camt053ValueReader values)
{
    private static readonly FrozenSet<string> StatementHeaderElements =
        new[] { "Id", "ElctrncSeqNb", "LglSeqNb", "CreDtTm", "FrToDt", "CpyDplctInd", "Acct", "Bal" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Whether this child of Stmt is one the statement's header is made of.</summary>
    public static bool IsStatementHeaderElement(string? localName) => localName is not null && StatementHeaderElements.Contains(localName);

    public async ValueTask<StatementMessage> ReadGroupHeaderAsync(string messageDefinition)
    {
        var at = cursor.Position;
        string? messageId = null;
        DateTimeOffset? createdAt = null;
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "MsgId":
                    messageId = await cursor.ReadOptionalTextAsync();
                    break;
                case "CreDtTm":
                    createdAt = await values.ReadDateTimeAsync();
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        return new StatementMessage(
            messageDefinition,
            messageId ?? throw Camt053XmlCursor.Invalid("the group header (GrpHdr) has no message id (MsgId)", at),
            createdAt ?? throw Camt053XmlCursor.Invalid("the group header (GrpHdr) has no creation time (CreDtTm)", at));
    }

    /// <summary>
    /// On the start tag of a Stmt: reads it up to its first entry, and leaves the cursor on that entry
    /// (<c>HasEntries</c>) or past the statement. <c>Depth</c> is the statement's, to walk its entries with.
    /// </summary>
    public async ValueTask<(BankStatement Statement, int Depth, bool HasEntries)> ReadStatementHeaderAsync(StatementMessage message)
    {
        var at = cursor.Position;
        string? id = null, electronicSequenceNumber = null, legalSequenceNumber = null, copyDuplicateIndicator = null;
        DateTimeOffset? createdAt = null, fromDate = null, toDate = null;
        BankAccountId? account = null;
        var balances = new List<StatementBalance>();
        var hasEntries = false;

        var depth = await cursor.EnterAsync();
        while (!hasEntries && await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "Ntry":
                    hasEntries = true;
                    break;
                case "Id":
                    id = await cursor.ReadOptionalTextAsync();
                    break;
                case "ElctrncSeqNb":
                    electronicSequenceNumber = await cursor.ReadOptionalTextAsync();
                    break;
                case "LglSeqNb":
                    legalSequenceNumber = await cursor.ReadOptionalTextAsync();
                    break;
                case "CreDtTm":
                    createdAt = await values.ReadDateTimeAsync();
                    break;
                case "FrToDt":
                    (fromDate, toDate) = await ReadPeriodAsync();
                    break;
                case "CpyDplctInd":
                    copyDuplicateIndicator = await cursor.ReadOptionalTextAsync();
                    break;
                case "Acct":
                    account = await values.ReadAccountAsync();
                    break;
                case "Bal":
                    balances.Add(await ReadBalanceAsync());
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        InvalidStatementException Missing(string what) =>
            Camt053XmlCursor.Invalid($"a statement (Stmt{(id is null ? string.Empty : " " + id)}) has no {what}", at);

        var statement = new BankStatement(
            message,
            id ?? throw Missing("identification (Id)"),
            electronicSequenceNumber,
            legalSequenceNumber,
            createdAt ?? throw Missing("creation time (CreDtTm)"),
            fromDate,
            toDate,
            copyDuplicateIndicator,
            account ?? throw Missing("account (Acct)"),
            balances);
        return (statement, depth, hasEntries);
    }

    private async ValueTask<(DateTimeOffset? From, DateTimeOffset? To)> ReadPeriodAsync()
    {
        DateTimeOffset? from = null, to = null;
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "FrDtTm":
                    from = await values.ReadDateTimeAsync();
                    break;
                case "ToDtTm":
                    to = await values.ReadDateTimeAsync();
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        return (from, to);
    }

    private async ValueTask<StatementBalance> ReadBalanceAsync()
    {
        var at = cursor.Position;
        string? type = null;
        Money? amount = null;
        CreditDebit? creditDebit = null;
        DateTimeOffset? date = null;
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "Tp":
                    // Tp/CdOrPrtry: the ISO code (Cd), or the bank's own type (Prtry).
                    type = await cursor.ReadChildAsync("CdOrPrtry", cursor.ReadOptionalTextAsync);
                    break;
                case "Amt":
                    amount = await values.ReadMoneyAsync($"the amount of the {type ?? "untyped"} balance");
                    break;
                case "CdtDbtInd":
                    creditDebit = await values.ReadCreditDebitAsync();
                    break;
                case "Dt":
                    date = await values.ReadDateChoiceAsync();
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        return new StatementBalance(
            type?.Trim() ?? throw Camt053XmlCursor.Invalid("a balance (Bal) has no type (Tp/CdOrPrtry)", at),
            amount ?? throw Camt053XmlCursor.Invalid($"the {type} balance (Bal) has no amount (Amt)", at),
            creditDebit ?? throw Camt053XmlCursor.Invalid($"the {type} balance (Bal) has no credit/debit indicator (CdtDbtInd)", at),
            date ?? throw Camt053XmlCursor.Invalid($"the {type} balance (Bal) has no date (Dt)", at));
    }
}
