using Payments.Core.Ledger;

namespace Payments.Grains;

/// <summary>How an outbox books a transaction: only what is in the ledger counts as applied. (In <c>Payments.Grains</c>, with <see cref="Outbox"/>, so every grain sees it.)</summary>
internal static class LedgerBooking
{
    /// <summary>
    /// Appends <paramref name="transaction"/>; appended or booked already with the same content is done. Its external id booked
    /// with other content throws <see cref="LedgerConflictException"/>, so the outbox keeps the move owed, spends its retry
    /// budget on it and parks it for an operator, rather than marking applied a movement the ledger does not have.
    /// </summary>
    public static async Task BookAsync(this ILedgerWriterGrain ledger, LedgerTransaction transaction)
    {
        var result = await ledger.AppendAsync(transaction);
        if (result.Outcome == AppendOutcome.ExistsWithDifferentContent)
        {
            throw new LedgerConflictException(transaction.ExternalId, result.Conflict);
        }
    }
}

/// <summary>A ledger external id booked with other content than the transaction asked for; thrown and caught in the same grain.</summary>
internal sealed class LedgerConflictException(string externalId, string? stored)
    : Exception($"ledger transaction {externalId} is booked already with other content ({stored ?? "unknown"}); nothing was written")
{
    public string ExternalId { get; } = externalId;
}
