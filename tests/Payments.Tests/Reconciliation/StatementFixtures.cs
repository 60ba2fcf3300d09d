using System.Text;
using Payments.Reconciliation.BankStatements;

namespace Payments.Tests.Reconciliation;

/// <summary>
/// The camt.053 fixtures (from genkgo/camt, MIT: Fixtures/LICENSE-genkgo-camt) and small statements made up by the
/// tests. The test project copies nothing to its output, so the fixtures are found in the source tree by walking up
/// from the test binaries.
/// </summary>
internal static class StatementFixtures
{
    public const string V2Namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02";
    public const string V8Namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08";

    private static readonly Lazy<string> FixtureDirectory = new(Locate);

    public static string PathOf(string fileName) => Path.Combine(FixtureDirectory.Value, fileName);

    public static string ReadText(string fileName) => File.ReadAllText(PathOf(fileName));

    public static async Task<(Camt053Reader Reader, List<StatementEntry> Entries)> ReadAllAsync(Stream stream)
    {
        var reader = new Camt053Reader(stream);
        var entries = new List<StatementEntry>();
        await foreach (var entry in reader.ReadEntriesAsync())
        {
            entries.Add(entry);
        }

        return (reader, entries);
    }

    public static async Task<(Camt053Reader Reader, List<StatementEntry> Entries)> ReadAllAsync(string xml)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(xml));
        return await ReadAllAsync(stream);
    }

    public static async Task<(Camt053Reader Reader, List<StatementEntry> Entries)> ReadFixtureAsync(string fileName)
    {
        await using var stream = File.OpenRead(PathOf(fileName));
        return await ReadAllAsync(stream);
    }

    /// <summary>The opening of a statement file with one Stmt of account NL26VAYB8060476890, up to its entries.</summary>
    public static string StatementOpening(string camtNamespace = V2Namespace) =>
        $"""
        <?xml version="1.0" encoding="UTF-8"?>
        <Document xmlns="{camtNamespace}">
          <BkToCstmrStmt>
            <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-11-21T02:00:00Z</CreDtTm></GrpHdr>
            <Stmt>
              <Id>STMT-1</Id>
              <CreDtTm>2026-11-21T02:00:00Z</CreDtTm>
              <Acct><Id><IBAN>NL26VAYB8060476890</IBAN></Id></Acct>
              <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>

        """;

    public const string StatementClosing =
        """
            </Stmt>
          </BkToCstmrStmt>
        </Document>

        """;

    /// <summary>A whole file of one statement holding the given Ntry elements.</summary>
    public static string StatementWith(params string[] entries) => StatementOpening() + string.Concat(entries) + StatementClosing;

    /// <summary>An entry with the given amount element (or none) and credit/debit indicator element (or none).</summary>
    public static string Entry(string? amount = """<Amt Ccy="EUR">8.85</Amt>""", string? creditDebit = "<CdtDbtInd>CRDT</CdtDbtInd>") =>
        $"<Ntry>{amount}{creditDebit}<Sts>BOOK</Sts><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>\n";

    private static string Locate()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "Payments.Tests", "Reconciliation", "Fixtures");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/Payments.Tests/Reconciliation/Fixtures was not found above the test binaries.");
    }
}
