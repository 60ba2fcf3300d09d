namespace Payments.Grains.Wallets;

internal sealed class SellerWalletState
{
    public string? MerchantId { get; set; }

    /// <summary>Balances by ISO currency code, in minor units.</summary>
    public Dictionary<string, CurrencyBalance> Balances { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Every operation applied, so that a retried one is recognised and skipped.</summary>
    public HashSet<string> AppliedOperations { get; set; } = new(StringComparer.Ordinal);

    internal sealed class CurrencyBalance
    {
        public long Pending { get; set; }

        public long Available { get; set; }

        public long Reserved { get; set; }

        public long PaidOut { get; set; }
    }
}
