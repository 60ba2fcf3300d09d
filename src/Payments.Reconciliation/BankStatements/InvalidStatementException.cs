namespace Payments.Reconciliation.BankStatements;

/// <summary>
/// The file is not a camt.053 statement we can read: not well-formed XML, not a camt.053 document (another message or
/// version), or a required part missing or unreadable (an entry's amount, currency or credit/debit indicator; an amount
/// that is not a whole number of minor units; a currency we do not know). One type, so that the caller answers every
/// case the same way (400 invalid_statement) and stores nothing.
/// </summary>
public sealed class InvalidStatementException : Exception
{
    public InvalidStatementException(string reason, int? lineNumber = null, int? linePosition = null, Exception? innerException = null)
        : base(Describe(reason, lineNumber, linePosition), innerException)
    {
        Reason = reason;
        LineNumber = lineNumber;
        LinePosition = linePosition;
    }

    /// <summary>What is wrong, without the position.</summary>
    public string Reason { get; }

    /// <summary>The 1-based line of the offending node, when known.</summary>
    public int? LineNumber { get; }

    /// <summary>The 1-based position on that line, when known.</summary>
    public int? LinePosition { get; }

    private static string Describe(string reason, int? lineNumber, int? linePosition) =>
        lineNumber is { } line and > 0
            ? $"Invalid camt.053 statement: {reason.TrimEnd('.')} (line {line}, position {linePosition ?? 0})."
            : $"Invalid camt.053 statement: {reason.TrimEnd('.')}.";
}
