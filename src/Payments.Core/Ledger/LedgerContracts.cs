namespace Payments.Core.Ledger;

[GenerateSerializer, Alias("Payments.EntryDirection")]
public enum EntryDirection
{
    Debit = 0,
    Credit = 1,
}

[GenerateSerializer, Immutable, Alias("Payments.LedgerEntry")]
public sealed record LedgerEntry(
    [property: Id(0)] string Account,
    [property: Id(1)] EntryDirection Direction,
    [property: Id(2)] Money.Money Amount);

[GenerateSerializer, Immutable, Alias("Payments.LedgerTransaction")]
public sealed record LedgerTransaction(
    [property: Id(0)] string ExternalId,
    [property: Id(1)] string Kind,
    [property: Id(2)] string? PaymentOrderId,
    [property: Id(3)] string? PspReference,
    [property: Id(4)] IReadOnlyList<LedgerEntry> Entries)
{
    /// <summary>A transaction of one amount from one account to another: debit <paramref name="debit"/>, credit <paramref name="credit"/>.</summary>
    public static LedgerTransaction Transfer(string externalId, string kind, string? paymentOrderId, string? pspReference, string debit, string credit, Money.Money amount) =>
        new(externalId, kind, paymentOrderId, pspReference, [new LedgerEntry(debit, EntryDirection.Debit, amount), new LedgerEntry(credit, EntryDirection.Credit, amount)]);

    /// <summary>Throws unless debits equal credits in every currency and every amount is positive.</summary>
    public void AssertBalanced()
    {
        if (Entries.Count < 2)
        {
            throw new InvalidOperationException($"Ledger transaction {ExternalId} needs at least two entries.");
        }

        foreach (var currency in Entries.GroupBy(e => e.Amount.Currency.Code))
        {
            long net = 0;
            foreach (var entry in currency)
            {
                if (entry.Amount.Minor <= 0)
                {
                    throw new InvalidOperationException($"Ledger transaction {ExternalId} has a non-positive entry.");
                }

                net = checked(entry.Direction == EntryDirection.Debit ? net + entry.Amount.Minor : net - entry.Amount.Minor);
            }

            if (net != 0)
            {
                throw new InvalidOperationException($"Ledger transaction {ExternalId} does not balance in {currency.Key}.");
            }
        }
    }
}

[GenerateSerializer, Alias("Payments.AppendOutcome")]
public enum AppendOutcome
{
    Appended = 0,

    /// <summary>The external id is booked already with the same content: a retry, nothing written.</summary>
    AlreadyExists = 1,

    /// <summary>
    /// The external id is booked already with other content (kind, payment order, or entries): nothing written, and never a
    /// success, since the movement asked for is not in the ledger. The writer has logged both and counted the conflict.
    /// </summary>
    ExistsWithDifferentContent = 2,
}

/// <summary>How an append ended; for <see cref="AppendOutcome.ExistsWithDifferentContent"/>, <paramref name="Conflict"/> summarizes what is stored.</summary>
[GenerateSerializer, Immutable, Alias("Payments.AppendResult")]
public sealed record AppendResult([property: Id(0)] AppendOutcome Outcome, [property: Id(1)] string? Conflict = null);

[Alias("Payments.ILedgerWriterGrain")]
public interface ILedgerWriterGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Appends a balanced transaction. One whose external id is booked already writes nothing: <see cref="AppendOutcome.AlreadyExists"/>
    /// when the stored one has the same content, <see cref="AppendOutcome.ExistsWithDifferentContent"/> when not.
    /// </summary>
    [Alias("AppendAsync")]
    Task<AppendResult> AppendAsync(LedgerTransaction transaction);
}

/// <summary>The chart of accounts: one name for each account, in one place.</summary>
public static class LedgerAccounts
{
    public const int WriterShardCount = 4;

    public static string PspReceivable(string psp) => $"psp_receivable:{psp}";

    /// <summary>What the PSP charged us for its service, booked when its payout to our bank settles the receivable.</summary>
    public static string PspFees(string psp) => $"psp_fees:{psp}";

    /// <summary>What the PSP took for orders that had failed (a hosted page paid late): owed back to the buyers until refunded.</summary>
    public static string LatePayments(string psp) => $"late_payments:{psp}";

    /// <summary>The platform's own bank account, where payouts to sellers leave from.</summary>
    public const string PlatformBank = "platform";

    public static string SellerPending(string seller) => $"seller_payable:{seller}:pending";

    public static string SellerAvailable(string seller) => $"seller_payable:{seller}:available";

    public static string SellerReserved(string seller) => $"seller_payable:{seller}:reserved";

    public static string Cash(string bank) => $"cash:{bank}";

    public static long WriterShardFor(string reference) =>
        (long)((uint)StableHash(reference) % WriterShardCount);

    // string.GetHashCode is randomized per process; shard choice must be stable across silos.
    private static int StableHash(string text)
    {
        unchecked
        {
            var hash = (int)2166136261;
            foreach (var c in text)
            {
                hash = (hash ^ c) * 16777619;
            }

            return hash;
        }
    }
}
