namespace Payments.Api.Operations;

public sealed class OperationsOptions
{
    public const string SectionName = "Operations";

    /// <summary>How often the stuck-payment check runs.</summary>
    public TimeSpan StuckCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>An order not final after this long is reported as stuck.</summary>
    public TimeSpan StuckAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How many rows one SQL page of an operator listing reads (unfinished orders, the orders checked against the PSP).
    /// Listings read every page, so this bounds memory per query, not the answer.
    /// </summary>
    public int ListPageSize { get; set; } = 1000;

    /// <summary>How many payment orders, picked at random, every GET /v1/ops/invariants checks against the PSP (psp=full checks them all).</summary>
    public int InvariantsPspSample { get; set; } = 20;
}
