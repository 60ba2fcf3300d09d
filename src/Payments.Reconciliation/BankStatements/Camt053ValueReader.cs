using System.Globalization;
using Payments.Core.Money;

namespace Payments.Reconciliation.BankStatements;

/// <summary>
/// Reads the typed values of camt.053 (amounts, credit/debit indicators, dates, accounts) at the cursor, refusing
/// with the position of the element what cannot be read exactly.
/// </summary>
internal sealed class Camt053ValueReader(Camt053XmlCursor cursor)
{
    private const string DateFormat = "yyyy-MM-dd";

    // xs:dateTime as ISO 20022 writes it: an optional fraction, and an offset or 'Z' that may be missing (then UTC).
    private const string DateTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK";

    /// <summary>An amount element (Amt Ccy="EUR") into minor units of a currency we know.</summary>
    public async ValueTask<Money> ReadMoneyAsync(string what)
    {
        var at = cursor.Position;
        var code = cursor.Attribute("Ccy");
        var text = await cursor.ReadTextAsync();
        if (string.IsNullOrEmpty(code))
        {
            throw Camt053XmlCursor.Invalid($"{what} has no currency (Ccy)", at);
        }

        if (!Currency.TryGet(code, out var currency))
        {
            throw Camt053XmlCursor.Invalid($"{what} is in '{code}', a currency we do not know", at);
        }

        return StatementAmount.TryParseMinorUnits(text, currency.MinorDigits, out var minor, out var error)
            ? new Money(minor, currency)
            : throw Camt053XmlCursor.Invalid($"{what} in {code}: {error}", at);
    }

    public async ValueTask<CreditDebit> ReadCreditDebitAsync()
    {
        var at = cursor.Position;
        return (await cursor.ReadTextAsync()).Trim() switch
        {
            "CRDT" => CreditDebit.Credit,
            "DBIT" => CreditDebit.Debit,
            var other => throw Camt053XmlCursor.Invalid($"the credit/debit indicator (CdtDbtInd) '{other}' is neither CRDT nor DBIT", at),
        };
    }

    public async ValueTask<bool> ReadBooleanAsync()
    {
        var at = cursor.Position;
        var name = cursor.LocalName;
        return (await cursor.ReadTextAsync()).Trim() switch
        {
            "true" or "1" => true,
            "false" or "0" => false,
            var other => throw Camt053XmlCursor.Invalid($"{name} '{other}' is neither true nor false", at),
        };
    }

    public async ValueTask<DateTimeOffset> ReadDateTimeAsync()
    {
        var at = cursor.Position;
        var name = cursor.LocalName;
        var text = (await cursor.ReadTextAsync()).Trim();
        return DateTimeOffset.TryParseExact(text, DateTimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value
            : throw Camt053XmlCursor.Invalid($"{name} '{text}' is not a date and time such as 2015-03-10T18:43:50+01:00", at);
    }

    /// <summary>
    /// BookgDt, ValDt and Bal/Dt: a choice of a date (Dt), taken as its midnight UTC, or a date and time (DtTm).
    /// </summary>
    public async ValueTask<DateTimeOffset> ReadDateChoiceAsync()
    {
        var at = cursor.Position;
        var name = cursor.LocalName;
        DateTimeOffset? value = null;
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "Dt":
                    value = await ReadDateAsync(name);
                    break;
                case "DtTm":
                    value = await ReadDateTimeAsync();
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        return value ?? throw Camt053XmlCursor.Invalid($"{name} has neither a date (Dt) nor a date and time (DtTm)", at);
    }

    /// <summary>An account element (Acct, DbtrAcct...) by its Id: an IBAN, or the bank's own scheme (Othr/Id).</summary>
    public async ValueTask<BankAccountId> ReadAccountAsync()
    {
        var at = cursor.Position;
        var name = cursor.LocalName;
        return await cursor.ReadChildAsync("Id", ReadAccountIdAsync) ?? throw Camt053XmlCursor.Invalid($"the account {name} has neither Id/IBAN nor Id/Othr/Id", at);
    }

    private async ValueTask<BankAccountId?> ReadAccountIdAsync()
    {
        string? iban = null;
        string? other = null;
        var depth = await cursor.EnterAsync();
        while (await cursor.NextChildAsync(depth))
        {
            switch (cursor.CamtName)
            {
                case "IBAN":
                    iban = await cursor.ReadOptionalTextAsync();
                    break;
                case "Othr":
                    // Othr/Id; its scheme name and issuer are not kept.
                    other = await cursor.ReadChildTextAsync("Id");
                    break;
                default:
                    await cursor.SkipAsync();
                    break;
            }
        }

        return iban is not null ? new BankAccountId(AccountIdScheme.Iban, iban)
            : other is not null ? new BankAccountId(AccountIdScheme.Other, other)
            : null;
    }

    private async ValueTask<DateTimeOffset> ReadDateAsync(string choiceName)
    {
        var at = cursor.Position;
        var text = (await cursor.ReadTextAsync()).Trim();
        return DateOnly.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)
            : throw Camt053XmlCursor.Invalid($"{choiceName}/Dt '{text}' is not a date such as 2014-12-31", at);
    }
}
