namespace Payments.Grains.PaymentOrders;

public sealed class FulfillmentOptions
{
    public const string SectionName = "Fulfillment";

    /// <summary>A paid order that nobody fulfilled is fulfilled this long after it succeeded, as marketplaces do.</summary>
    public TimeSpan AutoAfter { get; set; } = TimeSpan.FromDays(14);
}
