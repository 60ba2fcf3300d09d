namespace Payments.Reconciliation.BankStatements;

/// <summary>The group header (GrpHdr) of a camt.053 file: one per file, shared by all of its statements.</summary>
/// <param name="MessageDefinition">The version the file declares, from its namespace: "camt.053.001.08".</param>
/// <param name="MessageId">MsgId: the bank's identifier of this file.</param>
/// <param name="CreatedAt">CreDtTm: when the bank made the file.</param>
public sealed record StatementMessage(string MessageDefinition, string MessageId, DateTimeOffset CreatedAt);
