using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using System.Xml;

namespace Payments.Reconciliation.BankStatements;

/// <summary>
/// Reads an ISO 20022 camt.053 bank statement file (versions camt.053.001.02 to .001.08) as a stream of entries.
/// The file is pulled through an async <see cref="XmlReader"/> and nothing of it is kept but the statement headers
/// and the entry being handed out, so memory does not grow with the file: a 200 MB statement costs what one of its
/// entries costs.
/// </summary>
/// <remarks>
/// Entries are handed out before the end of the file has been read, so a file found malformed later (truncated, an
/// entry without an amount further down) throws <see cref="InvalidStatementException"/> after some entries were
/// yielded: a caller that stores entries must do so in a transaction it commits only once the enumeration completes.
/// Statements of any account are read; whether an account is ours is the caller's business.
/// </remarks>
public sealed partial class Camt053Reader
{
    private const string FirstVersion = "02";
    private const string LastVersion = "08";

    private readonly Stream statementFile;
    private readonly List<BankStatement> statements = [];
    private bool started;

    /// <param name="statementFile">The file, read from its current position; left open (its owner closes it).</param>
    public Camt053Reader(Stream statementFile)
    {
        ArgumentNullException.ThrowIfNull(statementFile);
        if (!statementFile.CanRead)
        {
            throw new ArgumentException("The statement stream cannot be read.", nameof(statementFile));
        }

        this.statementFile = statementFile;
    }

    /// <summary>The group header; known once the first entry (or the end) is reached.</summary>
    public StatementMessage? Message { get; private set; }

    /// <summary>
    /// The statements read so far, in file order, including those without entries. Only their headers are kept
    /// (an id, an account, a few balances), never their entries.
    /// </summary>
    public IReadOnlyList<BankStatement> Statements => statements;

    /// <summary>The entries of every statement of the file, in file order, one at a time. Enumerate once.</summary>
    /// <exception cref="InvalidStatementException">The file is malformed, at the point where that shows.</exception>
    public async IAsyncEnumerable<StatementEntry> ReadEntriesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (started)
        {
            throw new InvalidOperationException("A camt.053 reader reads its stream once; make a new reader to read it again.");
        }

        started = true;
        using var xml = XmlReader.Create(statementFile, new XmlReaderSettings
        {
            Async = true,
            // A statement has no business with a DTD: refusing them rules out entity expansion and external fetches.
            DtdProcessing = DtdProcessing.Prohibit,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            IgnoreWhitespace = true,
            CloseInput = false,
        });

        // The walk is a sequence of steps, each wrapped so that an XmlException becomes an InvalidStatementException
        // (a yield cannot sit inside a try with a catch).
        var walk = await Step(() => StartAsync(xml));
        while (await Step(walk.NextStatementAsync))
        {
            cancellationToken.ThrowIfCancellationRequested();
            while (await Step(walk.NextEntryAsync) is { } entry)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return entry;
            }
        }
    }

    // Document, BkToCstmrStmt, GrpHdr: checks that this is a camt.053 file of a version we read.
    private async ValueTask<Walk> StartAsync(XmlReader xml)
    {
        if (await xml.MoveToContentAsync() != XmlNodeType.Element)
        {
            throw new InvalidStatementException("the file holds no XML element");
        }

        var cursor = new Camt053XmlCursor(xml, xml.NamespaceURI);
        var version = DocumentNamespace().Match(xml.NamespaceURI);
        if (xml.LocalName != "Document" || !version.Success)
        {
            var name = xml.NamespaceURI.Length == 0 ? $"<{xml.LocalName}>" : $"<{xml.LocalName}> of {xml.NamespaceURI}";
            throw cursor.InvalidHere($"not a camt.053 document: its root is {name}, not a camt.053 Document");
        }

        var number = version.Groups["version"].Value;
        if (string.CompareOrdinal(number, FirstVersion) < 0 || string.CompareOrdinal(number, LastVersion) > 0)
        {
            throw cursor.InvalidHere($"camt.053.001.{number} is not a version this reader knows (it reads .001.{FirstVersion} to .001.{LastVersion})");
        }

        var documentDepth = await cursor.EnterAsync();
        if (!await cursor.NextChildAsync(documentDepth) || cursor.CamtName != "BkToCstmrStmt")
        {
            throw cursor.InvalidHere("the camt.053 Document holds no bank-to-customer statement (BkToCstmrStmt)");
        }

        var messageDepth = await cursor.EnterAsync();
        if (!await cursor.NextChildAsync(messageDepth) || cursor.CamtName != "GrpHdr")
        {
            throw cursor.InvalidHere("the statement message (BkToCstmrStmt) does not start with a group header (GrpHdr)");
        }

        var values = new Camt053ValueReader(cursor);
        var headers = new Camt053HeaderReader(cursor, values);
        Message = await headers.ReadGroupHeaderAsync($"camt.053.001.{number}");
        return new Walk(this, cursor, headers, new Camt053EntryReader(cursor, values), Message, messageDepth);
    }

    private static async ValueTask<T> Step<T>(Func<ValueTask<T>> step)
    {
        try
        {
            return await step();
        }
        catch (XmlException exception)
        {
            throw new InvalidStatementException($"not well-formed XML: {WithoutPosition(exception)}", exception.LineNumber, exception.LinePosition, exception);
        }
    }

    // XmlException appends " Line n, position m." to its message; the position is reported on its own.
    private static string WithoutPosition(XmlException exception)
    {
        var suffix = $" Line {exception.LineNumber}, position {exception.LinePosition}.";
        return exception.Message.EndsWith(suffix, StringComparison.Ordinal) ? exception.Message[..^suffix.Length] : exception.Message;
    }

    [GeneratedRegex(@"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(?<version>\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex DocumentNamespace();

    /// <summary>Where the reading is: in the statement message, in a statement, which entry comes next.</summary>
    private sealed class Walk(
        Camt053Reader owner, Camt053XmlCursor cursor, Camt053HeaderReader headers, Camt053EntryReader entries, StatementMessage message, int messageDepth)
    {
        private BankStatement? statement;
        private int statementDepth;
        private bool inStatement;
        private int nextEntryIndex;

        // Moves to the next Stmt and reads its header (false at the end of the message, the file then read to its end).
        public async ValueTask<bool> NextStatementAsync()
        {
            while (await cursor.NextChildAsync(messageDepth))
            {
                switch (cursor.CamtName)
                {
                    case "Stmt":
                        (statement, statementDepth, inStatement) = await headers.ReadStatementHeaderAsync(message);
                        owner.statements.Add(statement);
                        nextEntryIndex = 0;
                        return true;
                    case "GrpHdr":
                        throw cursor.InvalidHere("a second group header (GrpHdr)");
                    default:
                        await cursor.SkipAsync();
                        break;
                }
            }

            if (owner.statements.Count == 0)
            {
                throw cursor.InvalidHere("the statement message (BkToCstmrStmt) holds no statement (Stmt)");
            }

            await cursor.ReadToEndAsync();
            return false;
        }

        // The next entry of the current statement, or null past its end.
        public async ValueTask<StatementEntry?> NextEntryAsync()
        {
            while (inStatement && await cursor.NextChildAsync(statementDepth))
            {
                var name = cursor.CamtName;
                if (name == "Ntry")
                {
                    return await entries.ReadEntryAsync(statement!, nextEntryIndex++);
                }

                if (Camt053HeaderReader.IsStatementHeaderElement(name))
                {
                    // The schema puts these before the entries; taking one late would change a statement handed out.
                    throw cursor.InvalidHere($"{name} after the entries of statement {statement!.Id}, where the schema does not allow it");
                }

                await cursor.SkipAsync();
            }

            inStatement = false;
            return null;
        }
    }
}
