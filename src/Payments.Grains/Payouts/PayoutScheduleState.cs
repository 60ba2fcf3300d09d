using Payments.Core.Payouts;

namespace Payments.Grains.Payouts;

// Stored in Orleans' binary format (GrainStateSerializer): an [Id] is the field's name on disk, never to be reused.
[GenerateSerializer, Alias("Payments.Grains.PayoutScheduleState")]
internal sealed class PayoutScheduleState
{
    [Id(0)]
    public string? MerchantId { get; set; }

    [Id(1)]
    public string? Destination { get; set; }

    [Id(2)]
    public PayoutInterval Interval { get; set; }

    [Id(3)]
    public DayOfWeek? WeeklyAnchor { get; set; }

    [Id(4)]
    public DateTimeOffset? UpdatedAt { get; set; }

    /// <summary>The latest date whose scheduled run the reminder finished: a tick runs every date after it that is due.</summary>
    [Id(5)]
    public DateOnly? LastRunDate { get; set; }

    public PayoutSettings Settings => new(Destination, Interval, WeeklyAnchor);
}
