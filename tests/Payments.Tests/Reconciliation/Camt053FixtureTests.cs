using System.Text.Json;
using Payments.Reconciliation.BankStatements;

namespace Payments.Tests.Reconciliation;

/// <summary>
/// Each fixture read by <see cref="Camt053Reader"/> against the parse genkgo/camt made of it (the .expected.json
/// beside it): every field of our model is compared, exactly (dates as instants, amounts in minor units), as are the
/// counts of statements, entries per statement, balances, transactions, parties and remittance lines.
/// </summary>
/// <remarks>
/// genkgo signs amounts (a debit is negative) where we keep an unsigned amount and CdtDbtInd, so we compare our
/// SignedMinor; it names balance types (opening) where we keep the ISO code (OPBD).
///
/// The expected fields the model deliberately does not carry, and why:
/// - GrpHdr: getMessageRecipient (name, address, identification), getAdditionalInformation, getPagination: they say
///   who the file is for and how it is paged, nothing an entry is matched on.
/// - Stmt: getAdditionalInformation (free text about the statement), getPagination (statements are read whole),
///   the account's getName.
/// - Ntry: getAdditionalInfo (free text), getBatchPaymentId (NtryDtls/Btch: the batch's own references are in each
///   TxDtls), getCharges, the proprietary bank transaction code's getIssuer (the code alone is what we match).
/// - TxDtls: getBankTransactionCode (the entry's is kept), getReference's getProprietaries, getMandateId,
///   getChequeNumber, getClearingSystemReference and the other rarely given ids, getAmountDetails, getCharges,
///   getRelatedAgents, getRelatedDates, getReturnInformation, getAdditionalTransactionInformation; the related
///   parties' addresses and identifications (a party is matched by its account and name); the remittance's
///   creditor reference code (SCOR), getAdditionalRemittanceInformation, and getMessage (genkgo's pick of one of the
///   lines we keep all of). The singular getters (getTransactionDetail, getRelatedParty, getStructuredBlock...) are
///   the first item of their lists, compared through those.
///
/// camt053.v2.multi.statement.expected.json is lossy: genkgo's Message::getEntries keys every entry by its index
/// within its statement, so the dump kept only the last statement's entry 0 and wrote the first statement only as
/// a marker. That fixture's first statement is checked by hand in Camt053ReaderTests.
/// </remarks>
public sealed class Camt053FixtureTests
{
    private static readonly Dictionary<string, string> GenkgoBalanceTypes = new(StringComparer.Ordinal)
    {
        ["OPBD"] = "opening",
        ["CLBD"] = "closing",
        ["OPAV"] = "opening_available",
        ["CLAV"] = "closing_available",
    };

    [Fact]
    public Task V2_minimal_reads_as_its_expected_parse() => AssertFixtureReadsAsExpectedAsync("camt053.v2.minimal", "camt.053.001.02");

    [Fact]
    public Task V2_multi_statement_reads_as_its_expected_parse() => AssertFixtureReadsAsExpectedAsync("camt053.v2.multi.statement", "camt.053.001.02");

    [Fact]
    public Task V8_reads_as_its_expected_parse() => AssertFixtureReadsAsExpectedAsync("camt053.v8", "camt.053.001.08");

    private static async Task AssertFixtureReadsAsExpectedAsync(string fixture, string messageDefinition)
    {
        var (reader, entries) = await StatementFixtures.ReadFixtureAsync($"{fixture}.xml");
        using var document = JsonDocument.Parse(StatementFixtures.ReadText($"{fixture}.expected.json"));
        var expected = document.RootElement;

        // The version is not in genkgo's dump; it is the fixture's namespace.
        Assert.Equal(messageDefinition, reader.Message!.MessageDefinition);
        var header = expected.Get("getGroupHeader");
        Assert.Equal(header.Text("getMessageId"), reader.Message.MessageId);
        Assert.Equal(header.Instant("getCreatedOn"), reader.Message.CreatedAt);

        Assert.Equal(expected.Get("getRecords").GetArrayLength(), reader.Statements.Count);
        Assert.All(entries, entry => Assert.Same(reader.Message, entry.Statement.Message));

        // genkgo's entries as its dump holds them: by index within the statement, a later statement's replacing.
        var comparable = entries.GroupBy(entry => entry.Index).Select(group => group.Last()).OrderBy(entry => entry.Index).ToList();
        var expectedEntries = expected.Get("getEntries").EnumerateArray().ToList();
        Assert.Equal(expectedEntries.Count, comparable.Count);
        foreach (var (expectedEntry, entry) in expectedEntries.Zip(comparable))
        {
            AssertEntry(expectedEntry, entry, entries);
        }
    }

    private static void AssertEntry(JsonElement expected, StatementEntry entry, List<StatementEntry> allEntries)
    {
        Assert.Equal(expected.Get("getIndex").GetInt32(), entry.Index);
        Assert.Equal(expected.Money("getAmount"), (entry.SignedMinor, entry.Amount.Currency.Code));
        Assert.Equal(expected.Text("getCreditDebitIndicator"), Indicator(entry.CreditDebit));
        Assert.Equal(expected.Get("getReversalIndicator").GetBoolean(), entry.IsReversal);
        Assert.Equal(expected.Text("getStatus"), entry.Status);
        Assert.Equal(expected.Instant("getBookingDate"), entry.BookingDate);
        Assert.Equal(expected.Instant("getValueDate"), entry.ValueDate);
        Assert.Equal(expected.Text("getReference"), entry.EntryReference);
        Assert.Equal(expected.Text("getAccountServicerReference"), entry.AccountServicerReference);
        AssertBankTransactionCode(expected.Get("getBankTransactionCode"), entry.BankTransactionCode);

        var statement = expected.Get("getRecord");
        AssertStatement(statement, entry.Statement);
        Assert.Equal(statement.Get("getEntries").GetArrayLength(), allEntries.Count(other => other.Statement == entry.Statement));

        var transactions = expected.Items("getTransactionDetails", "getTransactionDetail");
        Assert.Equal(transactions.Count, entry.Transactions.Count);
        foreach (var (expectedTransaction, transaction) in transactions.Zip(entry.Transactions))
        {
            AssertTransaction(expectedTransaction, transaction);
        }
    }

    private static void AssertStatement(JsonElement expected, BankStatement statement)
    {
        Assert.Equal(expected.Text("getId"), statement.Id);
        Assert.Equal(expected.Text("getElectronicSequenceNumber"), statement.ElectronicSequenceNumber);
        Assert.Equal(expected.Text("getLegalSequenceNumber"), statement.LegalSequenceNumber);
        Assert.Equal(expected.Instant("getCreatedOn"), statement.CreatedAt);
        Assert.Equal(expected.Instant("getFromDate"), statement.FromDate);
        Assert.Equal(expected.Instant("getToDate"), statement.ToDate);
        Assert.Equal(expected.Text("getCopyDuplicateIndicator"), statement.CopyDuplicateIndicator);
        AssertAccount(expected.Get("getAccount"), statement.Account);

        var balances = expected.Get("getBalances").EnumerateArray().ToList();
        Assert.Equal(balances.Count, statement.Balances.Count);
        foreach (var (expectedBalance, balance) in balances.Zip(statement.Balances))
        {
            Assert.Equal(expectedBalance.Text("getType"), GenkgoBalanceTypes[balance.Type]);
            Assert.Equal(expectedBalance.Money("getAmount"), (balance.SignedMinor, balance.Amount.Currency.Code));
            Assert.Equal(expectedBalance.Instant("getDate"), balance.Date);
        }
    }

    private static void AssertTransaction(JsonElement expected, TransactionDetails transaction)
    {
        Assert.Equal(expected.Money("getAmount"), transaction.Amount is { } amount
            ? (transaction.CreditDebit == CreditDebit.Debit ? -amount.Minor : amount.Minor, amount.Currency.Code)
            : null);
        Assert.Equal(expected.Text("getCreditDebitIndicator"), Indicator(transaction.CreditDebit));

        var references = expected.Get("getReference");
        Assert.Equal(references.IsNull() ? null : references.Text("getEndToEndId"), transaction.EndToEndId);
        Assert.Equal(references.IsNull() ? null : references.Text("getInstructionId"), transaction.InstructionId);
        Assert.Equal(references.IsNull() ? null : references.Text("getMessageId"), transaction.MessageId);
        Assert.Equal(references.IsNull() ? null : references.Text("getPaymentInformationId"), transaction.PaymentInformationId);
        Assert.Equal(references.IsNull() ? null : references.Text("getTransactionId"), transaction.TransactionId);
        Assert.Equal(references.IsNull() ? null : references.Text("getAccountServicerReference"), transaction.AccountServicerReference);

        var parties = expected.Get("getRelatedParties").EnumerateArray().ToList();
        Assert.Equal(parties.Count, new[] { transaction.Debtor, transaction.Creditor }.Count(party => party is not null));
        foreach (var party in parties)
        {
            var role = party.Get("getRelatedPartyType");
            var actual = role.ClassName() switch
            {
                "Debtor" => transaction.Debtor,
                "Creditor" => transaction.Creditor,
                var other => throw new InvalidOperationException($"No model field for a related party of type {other}."),
            };
            Assert.NotNull(actual);
            Assert.Equal(role.Text("getName"), actual.Name);
            var account = party.Get("getAccount");
            if (account.IsNull())
            {
                Assert.Null(actual.Account);
            }
            else
            {
                AssertAccount(account, actual.Account!);
            }
        }

        var remittance = expected.Get("getRemittanceInformation");
        if (remittance.IsNull())
        {
            Assert.Empty(transaction.UnstructuredRemittance);
            Assert.Empty(transaction.CreditorReferences);
            return;
        }

        var unstructured = remittance.Items("getUnstructuredBlocks", "getUnstructuredBlock").Select(block => block.Text("getMessage"));
        Assert.Equal(unstructured, transaction.UnstructuredRemittance);
        var creditorReferences = remittance.Items("getStructuredBlocks", "getStructuredBlock")
            .Select(block => block.Get("getCreditorReferenceInformation").Resolve(remittance.Get("getCreditorReferenceInformation")))
            .Where(reference => !reference.IsNull())
            .Select(reference => reference.Text("getRef"));
        Assert.Equal(creditorReferences, transaction.CreditorReferences);
    }

    private static void AssertBankTransactionCode(JsonElement expected, BankTransactionCode code)
    {
        var domain = expected.Get("getDomain");
        var family = domain.IsNull() ? domain : domain.Get("getFamily");
        Assert.Equal(domain.IsNull() ? null : domain.Text("getCode"), code.Domain);
        Assert.Equal(family.IsNull() ? null : family.Text("getCode"), code.Family);
        Assert.Equal(family.IsNull() ? null : family.Text("getSubFamilyCode"), code.SubFamily);
        var proprietary = expected.Get("getProprietary");
        Assert.Equal(proprietary.IsNull() ? null : proprietary.Text("getCode"), code.Proprietary);
    }

    // genkgo has a class per scheme: IbanAccount, and OtherAccount (or BBANAccount...) for Othr/Id.
    private static void AssertAccount(JsonElement expected, BankAccountId account)
    {
        Assert.Equal(expected.ClassName() == "IbanAccount" ? AccountIdScheme.Iban : AccountIdScheme.Other, account.Scheme);
        Assert.Equal(expected.Text("getIdentification"), account.Value);
        if (account.Scheme == AccountIdScheme.Iban)
        {
            Assert.Equal(expected.Get("getIban").Text("getIban"), account.Value);
        }
    }

    private static string Indicator(CreditDebit creditDebit) => creditDebit == CreditDebit.Debit ? "DBIT" : "CRDT";
}
