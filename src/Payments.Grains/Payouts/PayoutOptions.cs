using System.ComponentModel.DataAnnotations;

namespace Payments.Grains.Payouts;

/// <summary>Payouts share the PSP retry policy, poll interval and idempotency window of <c>PaymentOrders</c>; these are their own.</summary>
public sealed class PayoutOptions
{
    public const string SectionName = "Payouts";

    /// <summary>When (UTC) daily and weekly sellers are paid.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "23:59:59")]
    public TimeSpan ScheduleTimeOfDay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How long a payout in transit waits for its webhook before it asks the PSP, and how often it asks again. Payouts take
    /// days to arrive, so this is slower than a payment's.
    /// </summary>
    public TimeSpan PspPollAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long after it was paid a payout keeps asking the PSP (every <see cref="PspPollAfter"/>) whether the bank sent it
    /// back: a returned payout whose webhook was lost still gives the seller the money back. Banks return payouts up to
    /// several business days after they arrive, so ten calendar days covers weekends and holidays.
    /// </summary>
    public TimeSpan ReturnWatch { get; set; } = TimeSpan.FromDays(10);
}
