using System.Globalization;
using Payments.Core.Ledger;

namespace Payments.Grains.Ledger;

/// <summary>
/// What a ledger transaction says, for telling a retry (same external id, same content) from a reuse of the id for another
/// movement. The content is the kind, the payment order and the entries as a set of (account, direction, amount, currency):
/// these are the money and what it is for. The PSP reference is left out: it only points at the PSP's object, and callers
/// learn it at different times (a payout's reservation is booked before the PSP has an id for it, a hosted page is known
/// by its session before a payment intent pays it), so a retry may legitimately carry another one.
/// </summary>
internal sealed record LedgerContent(string Kind, string? PaymentOrderId, string? PspReference, IReadOnlyList<LedgerContent.Entry> Entries)
{
    public static LedgerContent Of(LedgerTransaction transaction) => new(
        transaction.Kind,
        transaction.PaymentOrderId,
        transaction.PspReference,
        transaction.Entries.Select(entry => new Entry(entry.Account, entry.Direction == EntryDirection.Debit ? "debit" : "credit", entry.Amount.Minor, entry.Amount.Currency.Code)).ToArray());

    /// <summary>Same kind, order and entries; the order of the entries does not matter, their number does.</summary>
    public bool SameAs(LedgerContent other) =>
        string.Equals(Kind, other.Kind, StringComparison.Ordinal)
        && string.Equals(PaymentOrderId, other.PaymentOrderId, StringComparison.Ordinal)
        && Sorted(Entries).SequenceEqual(Sorted(other.Entries));

    /// <summary>For the alarm: everything compared, and the PSP reference.</summary>
    public string Summary() =>
        $"kind={Kind} payment_order={PaymentOrderId ?? "-"} psp_reference={PspReference ?? "-"} entries=["
        + string.Join("; ", Sorted(Entries).Select(entry => string.Create(CultureInfo.InvariantCulture, $"{entry.Direction} {entry.Account} {entry.Amount} {entry.Currency}")))
        + "]";

    private static IEnumerable<Entry> Sorted(IEnumerable<Entry> entries) =>
        entries.OrderBy(entry => entry.Account, StringComparer.Ordinal).ThenBy(entry => entry.Direction, StringComparer.Ordinal)
            .ThenBy(entry => entry.Currency, StringComparer.Ordinal).ThenBy(entry => entry.Amount);

    /// <summary>One entry as the database holds it (direction <c>debit</c>/<c>credit</c>, amount in minor units).</summary>
    internal sealed record Entry(string Account, string Direction, long Amount, string Currency);
}
