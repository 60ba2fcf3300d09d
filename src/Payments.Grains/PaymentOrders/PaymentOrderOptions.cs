using System.ComponentModel.DataAnnotations;

namespace Payments.Grains.PaymentOrders;

public sealed class PaymentOrderOptions
{
    public const string SectionName = "PaymentOrders";

    public RetryOptions Retry { get; set; } = new();

    /// <summary>
    /// How long an order waits for the PSP to finish a payment (3-D Secure, processing, hosted page) before
    /// it asks the PSP itself, and then how often it asks again: a lost webhook delays an order, never strands it.
    /// </summary>
    public TimeSpan PspPollAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long an order waits in REQUIRES_ACTION for the buyer (3-D Secure, a hosted page) before it is canceled at the
    /// PSP and FAILED, or booked if the PSP says it was paid after all. A day, as Stripe expires checkout sessions.
    /// </summary>
    public TimeSpan ActionTimeout { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How long the PSP is trusted to remember an idempotency key (Stripe prunes keys after 24 hours). A charge retried
    /// later than this after its first attempt is first looked for at the PSP, and created only if none exists.
    /// </summary>
    public TimeSpan PspIdempotencyWindow { get; set; } = TimeSpan.FromHours(23);

    /// <summary>Refunds kept per order: a bound on state size.</summary>
    [Range(1, 1000)]
    public int RefundsMax { get; set; } = 100;

    /// <summary>
    /// How soon and how often the sweep of stored wake-ups re-activates an unfinished order (after a crash, say): an order is
    /// due this long after the write that first owed work, and the sweep runs this often.
    /// </summary>
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// True by default: an order is created started (EXECUTING, its first attempt counted, awaiting its checkout), in one
    /// write. A cluster upgrading from a build before that runs its new silos with <c>false</c> until no old silo is left: an
    /// old silo would take such an order for one its checkout let go, and could charge it after its checkout broke off. Rolling
    /// back needs the same: <c>false</c> first, until no row is stored awaiting its checkout (a few sweep periods).
    /// </summary>
    public bool StartInCreateWrite { get; set; } = true;

    public sealed class RetryOptions
    {
        public TimeSpan DelayBase { get; set; } = TimeSpan.FromSeconds(1);

        public TimeSpan DelayMax { get; set; } = TimeSpan.FromMinutes(5);

        [Range(1, 1000)]
        public int AttemptsMax { get; set; } = 10;

        /// <summary>What is wrong with the policy, if anything: its annotations, and a delay range that makes sense.</summary>
        public IReadOnlyList<string> Problems()
        {
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
            var problems = results.Select(result => result.ErrorMessage ?? "invalid").ToList();
            if (DelayBase <= TimeSpan.Zero || DelayMax < DelayBase)
            {
                problems.Add("DelayBase must be positive and at most DelayMax.");
            }

            return problems;
        }
    }
}
