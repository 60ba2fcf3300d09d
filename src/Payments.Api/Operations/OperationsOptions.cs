namespace Payments.Api.Operations;

public sealed class OperationsOptions
{
    public const string SectionName = "Operations";

    /// <summary>How often the stuck-payment check runs.</summary>
    public TimeSpan StuckCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>An order not final after this long is reported as stuck.</summary>
    public TimeSpan StuckAfter { get; set; } = TimeSpan.FromMinutes(15);
}
