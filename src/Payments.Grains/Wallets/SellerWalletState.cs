using Payments.Grains.Storage;

namespace Payments.Grains.Wallets;

// Stored in Orleans' binary format (GrainStateSerializer): an [Id] is the field's name on disk, never to be reused.
[GenerateSerializer, Alias("Payments.Grains.SellerWalletState")]
internal sealed class SellerWalletState : IRecordsAppliedOperations
{
    [Id(0)]
    public string? MerchantId { get; set; }

    /// <summary>Balances by ISO currency code, in minor units.</summary>
    [Id(1)]
    public Dictionary<string, CurrencyBalance> Balances { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The operations applied that their senders may still send again, so that a retried one is recognised and skipped. A sender
    /// that has stored an operation as applied says so, and it is dropped (the ledger's external id stays the durable record).
    /// Only with <c>Wallets:RecordOperationsInTable=false</c> (beside the rows of <c>grain_operations</c>, which every write
    /// records), or as an earlier build wrote it: with true, the next write moves what is left here into that table.
    /// </summary>
    [Id(2)]
    public HashSet<string> AppliedOperations { get; set; } = new(StringComparer.Ordinal);

    /// <summary>What each payout in flight holds, by its reservation's operation id; gone once the payout settles.</summary>
    [Id(3)]
    public Dictionary<string, Reservation> Reservations { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Applied operations whose senders have stored them as applied, with when they said so: dropped from
    /// <see cref="AppliedOperations"/> once <c>Wallets:ForgetAfter</c> has passed.
    /// </summary>
    [Id(4)]
    public Dictionary<string, DateTimeOffset> ForgettableSince { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// What the next write records (see <see cref="IRecordsAppliedOperations"/>): beside the payload, not in it, so it has no
    /// [Id]; a field, so it stays out of the JSON format too.
    /// </summary>
    [NonSerialized]
    internal OperationsToRecord? NextWriteRecords;

    OperationsToRecord? IRecordsAppliedOperations.OperationsToRecord => NextWriteRecords;

    [GenerateSerializer, Alias("Payments.Grains.WalletReservation")]
    internal sealed record Reservation([property: Id(0)] string Currency, [property: Id(1)] long AmountMinor);

    [GenerateSerializer, Alias("Payments.Grains.CurrencyBalance")]
    internal sealed class CurrencyBalance
    {
        [Id(0)]
        public long Pending { get; set; }

        [Id(1)]
        public long Available { get; set; }

        [Id(2)]
        public long Reserved { get; set; }

        [Id(3)]
        public long PaidOut { get; set; }
    }
}
