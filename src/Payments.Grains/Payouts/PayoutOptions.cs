using System.ComponentModel.DataAnnotations;

namespace Payments.Grains.Payouts;

/// <summary>Payouts share the PSP retry policy, poll interval and idempotency window of <c>PaymentOrders</c>; these are their own.</summary>
public sealed class PayoutOptions
{
    public const string SectionName = "Payouts";

    /// <summary>When (UTC) daily and weekly sellers are paid.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "23:59:59")]
    public TimeSpan ScheduleTimeOfDay { get; set; } = TimeSpan.Zero;
}
