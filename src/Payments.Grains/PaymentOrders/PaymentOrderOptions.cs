using System.ComponentModel.DataAnnotations;

namespace Payments.Grains.PaymentOrders;

public sealed class PaymentOrderOptions
{
    public const string SectionName = "PaymentOrders";

    public RetryOptions Retry { get; set; } = new();

    /// <summary>How often the durable reminder re-activates an unfinished order (after a crash, say).</summary>
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    public sealed class RetryOptions
    {
        public TimeSpan DelayBase { get; set; } = TimeSpan.FromSeconds(1);

        public TimeSpan DelayMax { get; set; } = TimeSpan.FromMinutes(5);

        [Range(1, 1000)]
        public int AttemptsMax { get; set; } = 10;
    }
}
