using System.Text;
using Payments.Reconciliation.BankStatements;

namespace Payments.Tests.Reconciliation;

public sealed class Camt053ReaderTests
{
    [Fact]
    public async Task Reads_every_statement_and_entry_of_the_multi_statement_fixture()
    {
        // The expected parse of this fixture lost its first statement (see Camt053FixtureTests); these values are the file's.
        var (reader, entries) = await StatementFixtures.ReadFixtureAsync("camt053.v2.multi.statement.xml");

        Assert.Equal(["253EURNL26VAYB8060476890", "254EURNL26VAYB8060476890"], reader.Statements.Select(statement => statement.Id));
        Assert.Equal(2, entries.Count);

        var first = entries[0];
        Assert.Same(reader.Statements[0], first.Statement);
        Assert.Equal(0, first.Index);
        Assert.Equal((885L, "EUR", CreditDebit.Credit), (first.Amount.Minor, first.Amount.Currency.Code, first.CreditDebit));
        Assert.Equal(new DateTimeOffset(2014, 12, 31, 0, 0, 0, TimeSpan.Zero), first.BookingDate);
        var transaction = Assert.Single(first.Transactions);
        Assert.Equal("000000001", transaction.EndToEndId);
        Assert.Equal(["Transaction Description 1"], transaction.UnstructuredRemittance);
        Assert.Equal(new RelatedParty("Company Name 1", new BankAccountId(AccountIdScheme.Iban, "NL56AGDH9619008421")), transaction.Creditor);
        Assert.Null(transaction.Debtor);

        var statement = reader.Statements[0];
        Assert.Equal(("12312", "12312", "CODU"), (statement.ElectronicSequenceNumber, statement.LegalSequenceNumber, statement.CopyDuplicateIndicator));
        Assert.Equal(new DateTimeOffset(2007, 10, 18, 7, 0, 0, TimeSpan.Zero), statement.FromDate);
        Assert.Equal(
            [("OPBD", 1815L, CreditDebit.Credit), ("CLBD", 2700L, CreditDebit.Credit)],
            statement.Balances.Select(balance => (balance.Type, balance.Amount.Minor, balance.CreditDebit)));

        Assert.Equal((0, 700L, CreditDebit.Debit, -700L), (entries[1].Index, entries[1].Amount.Minor, entries[1].CreditDebit, entries[1].SignedMinor));
        Assert.Same(reader.Statements[1], entries[1].Statement);
    }

    [Fact]
    public async Task Reads_version_001_04_like_the_others()
    {
        var xml = StatementFixtures.ReadText("camt053.v2.minimal.xml")
            .Replace("camt.053.001.02", "camt.053.001.04", StringComparison.Ordinal);

        var (reader, entries) = await StatementFixtures.ReadAllAsync(xml);

        Assert.Equal("camt.053.001.04", reader.Message!.MessageDefinition);
        var entry = Assert.Single(entries);
        Assert.Equal((885L, "EUR", "BOOK", "544"), (entry.Amount.Minor, entry.Amount.Currency.Code, entry.Status, entry.BankTransactionCode.Proprietary));
        Assert.Equal(4, entry.Statement.Balances.Count);
    }

    [Theory]
    [InlineData("8.850", "EUR", 885L)]
    [InlineData("8.85000", "EUR", 885L)]
    [InlineData("2700.0", "JPY", 2700L)]
    [InlineData("1.2340", "BHD", 1234L)]
    [InlineData("0", "SEK", 0L)]
    public async Task Takes_an_amount_with_more_decimals_than_its_currency_when_it_is_exact(string amount, string currency, long minor)
    {
        var (_, entries) = await StatementFixtures.ReadAllAsync(StatementFixtures.StatementWith(
            StatementFixtures.Entry($"""<Amt Ccy="{currency}">{amount}</Amt>""")));

        Assert.Equal((minor, currency), (entries[0].Amount.Minor, entries[0].Amount.Currency.Code));
    }

    [Theory]
    [InlineData("8.855", "EUR", "not a whole number of minor units")]
    [InlineData("2700.5", "JPY", "no minor unit")]
    [InlineData("-8.85", "EUR", "negative")]
    [InlineData("8,85", "EUR", "not an amount")]
    [InlineData("8.85e0", "EUR", "not an amount")]
    [InlineData("", "EUR", "not an amount")]
    [InlineData("99999999999999999999", "EUR", "too large")]
    [InlineData("8.85", "ABC", "currency we do not know")]
    [InlineData("8.85", "eur", "currency we do not know")]
    public async Task Refuses_an_amount_that_is_not_a_whole_number_of_minor_units_of_a_known_currency(string amount, string currency, string reason)
    {
        var xml = StatementFixtures.StatementWith(StatementFixtures.Entry($"""<Amt Ccy="{currency}">{amount}</Amt>"""));

        var refusal = await Assert.ThrowsAsync<InvalidStatementException>(() => StatementFixtures.ReadAllAsync(xml));

        Assert.Contains(reason, refusal.Message, StringComparison.Ordinal);
        Assert.NotNull(refusal.LineNumber);
    }

    [Theory]
    [InlineData(null, "<CdtDbtInd>CRDT</CdtDbtInd>", "no amount (Amt)")]
    [InlineData("<Amt>8.85</Amt>", "<CdtDbtInd>CRDT</CdtDbtInd>", "no currency (Ccy)")]
    [InlineData("""<Amt Ccy="">8.85</Amt>""", "<CdtDbtInd>CRDT</CdtDbtInd>", "no currency (Ccy)")]
    [InlineData("""<Amt Ccy="EUR">8.85</Amt>""", null, "no credit/debit indicator (CdtDbtInd)")]
    [InlineData("""<Amt Ccy="EUR">8.85</Amt>""", "<CdtDbtInd>CR</CdtDbtInd>", "neither CRDT nor DBIT")]
    public async Task Refuses_an_entry_without_amount_currency_or_credit_debit_indicator(string? amount, string? creditDebit, string reason)
    {
        // The faulty entry is the second: the first is handed out before the fault shows.
        var xml = StatementFixtures.StatementWith(StatementFixtures.Entry(), StatementFixtures.Entry(amount, creditDebit));
        var reader = new Camt053Reader(new MemoryStream(Encoding.UTF8.GetBytes(xml)));
        var read = 0;

        var refusal = await Assert.ThrowsAsync<InvalidStatementException>(async () =>
        {
            await foreach (var _ in reader.ReadEntriesAsync())
            {
                read++;
            }
        });

        Assert.Equal(1, read);
        Assert.Contains(reason, refusal.Message, StringComparison.Ordinal);
        // The faulty Ntry is on the line after the first one.
        var faultyLine = xml.Split('\n').ToList().FindLastIndex(line => line.StartsWith("<Ntry>", StringComparison.Ordinal)) + 1;
        Assert.Equal(faultyLine, refusal.LineNumber);
    }

    private static readonly string OneEntryStatement = StatementFixtures.StatementWith(StatementFixtures.Entry());

    public static TheoryData<string, string> NotCamt053 => new()
    {
        { "id,amount\npo_1,8.85\n", "not well-formed XML" },
        { "", "not well-formed XML" },
        { $"<Document xmlns=\"{StatementFixtures.V2Namespace}\"><BkToCstmrStmt>", "not well-formed XML" },
        { OneEntryStatement + "<Document/>", "not well-formed XML" },
        { $"<!DOCTYPE Document [<!ENTITY x \"y\">]><Document xmlns=\"{StatementFixtures.V2Namespace}\"/>", "not well-formed XML" },
        { OneEntryStatement.Replace("camt.053.001.02", "camt.052.001.02", StringComparison.Ordinal), "not a camt.053 document" },
        { OneEntryStatement.Replace(StatementFixtures.V2Namespace, "urn:example:statements", StringComparison.Ordinal), "not a camt.053 document" },
        { "<Document><BkToCstmrStmt/></Document>", "not a camt.053 document" },
        { $"<Statement xmlns=\"{StatementFixtures.V2Namespace}\"/>", "not a camt.053 document" },
        { OneEntryStatement.Replace("camt.053.001.02", "camt.053.001.13", StringComparison.Ordinal), "camt.053.001.13 is not a version" },
        { StatementFixtures.StatementOpening()[..StatementFixtures.StatementOpening().IndexOf("<Stmt>", StringComparison.Ordinal)] + "</BkToCstmrStmt></Document>", "holds no statement (Stmt)" },
    };

    [Theory]
    [MemberData(nameof(NotCamt053))]
    public async Task Refuses_what_is_not_well_formed_xml_or_not_a_camt053_document(string content, string reason)
    {
        var refusal = await Assert.ThrowsAsync<InvalidStatementException>(() => StatementFixtures.ReadAllAsync(content));

        Assert.Contains(reason, refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuses_a_statement_truncated_after_some_entries_were_read()
    {
        var xml = StatementFixtures.StatementWith(StatementFixtures.Entry(), StatementFixtures.Entry(), StatementFixtures.Entry());
        var truncated = xml[..xml.LastIndexOf("<Ntry>", StringComparison.Ordinal)];

        var refusal = await Assert.ThrowsAsync<InvalidStatementException>(() => StatementFixtures.ReadAllAsync(truncated));

        Assert.Contains("not well-formed XML", refusal.Message, StringComparison.Ordinal);
        Assert.IsType<System.Xml.XmlException>(refusal.InnerException);
    }

    [Fact]
    public async Task Lists_a_statement_without_entries_and_reads_statements_of_any_account()
    {
        var xml = StatementFixtures.StatementOpening().Replace("<IBAN>NL26VAYB8060476890</IBAN>", "<Othr><Id>not-our-account</Id></Othr>", StringComparison.Ordinal)
            + StatementFixtures.StatementClosing;

        var (reader, entries) = await StatementFixtures.ReadAllAsync(xml);

        Assert.Empty(entries);
        var statement = Assert.Single(reader.Statements);
        Assert.Equal(new BankAccountId(AccountIdScheme.Other, "not-our-account"), statement.Account);
        Assert.Equal(("MSG-1", new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero)), (reader.Message!.MessageId, reader.Message.CreatedAt));
    }

    [Fact]
    public async Task Reads_a_file_once()
    {
        var reader = new Camt053Reader(new MemoryStream(Encoding.UTF8.GetBytes(StatementFixtures.StatementWith(StatementFixtures.Entry()))));
        await foreach (var _ in reader.ReadEntriesAsync())
        {
        }

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in reader.ReadEntriesAsync())
            {
            }
        });
    }
}
