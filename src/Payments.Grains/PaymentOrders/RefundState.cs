using Payments.Core.PaymentOrders;

namespace Payments.Grains.PaymentOrders;

/// <summary>One refund of a payment order: reserved (PENDING) before the PSP hears of it, with its own outbox flags.</summary>
[GenerateSerializer, Alias("Payments.Grains.RefundState")]
internal sealed class RefundState
{
    [Id(0)]
    public string RefundId { get; set; } = string.Empty;

    [Id(1)]
    public long AmountMinor { get; set; }

    [Id(2)]
    public RefundStatus Status { get; set; }

    [Id(3)]
    public string? Reason { get; set; }

    [Id(4)]
    public string? PspRefundId { get; set; }

    [Id(5)]
    public int Attempts { get; set; }

    [Id(6)]
    public bool WalletUpdated { get; set; }

    [Id(7)]
    public bool LedgerUpdated { get; set; }

    [Id(8)]
    public DateTimeOffset CreatedAt { get; set; }

    [Id(9)]
    public string? FailureCode { get; set; }

    /// <summary>
    /// The PSP has answered for this refund (succeeded, pending or failed). Until then it is asked again with the
    /// same idempotency key; afterwards a pending refund is only looked up, never created again.
    /// </summary>
    [Id(10)]
    public bool PspAnswered { get; set; }

    /// <summary>
    /// The PSP reported this refund succeeded and later that it failed (the card it went back to was closed): the
    /// money stayed with us after all, so the refund's booking is itself reversed.
    /// </summary>
    [Id(11)]
    public bool FailedAfterSuccess { get; set; }

    [Id(12)]
    public bool ReversalWalletUpdated { get; set; }

    [Id(13)]
    public bool ReversalLedgerUpdated { get; set; }

    /// <summary>Attempts made before the last replay: the retry budget counts from here.</summary>
    [Id(14)]
    public int AttemptsAtBudgetStart { get; set; }

    /// <summary>When the refund is next asked (or looked up) at the PSP: other wake-ups of the order leave it be.</summary>
    [Id(15)]
    public DateTimeOffset? NextRetryAt { get; set; }

    /// <summary>
    /// The order was fulfilled when the PSP said this refund succeeded, so its money leaves from available, not pending
    /// (fulfillment had moved it there). Fixed at that moment, so that retrying the booking takes it from the same place.
    /// </summary>
    [Id(16)]
    public bool FromAvailable { get; set; }

    /// <summary>Likewise for the reversal of a refund that failed after it succeeded: where the money comes back to.</summary>
    [Id(17)]
    public bool ReversalToAvailable { get; set; }

    // Computed, so not stored (it has no [Id]); rows written as JSON by earlier builds hold it, and reading ignores it.
    /// <summary>
    /// The refund's booking is owed once the PSP has said it succeeded, even if it failed afterwards: a flag not yet
    /// set may hide a call that did land, so the booking and its reversal are both made (each once), never guessed away.
    /// </summary>
    public bool OwesEffects =>
        ((Status == RefundStatus.Succeeded || FailedAfterSuccess) && !(WalletUpdated && LedgerUpdated))
        || (FailedAfterSuccess && !(ReversalWalletUpdated && ReversalLedgerUpdated));

    /// <summary>Tries at the PSP since the current retry budget began (a replay begins a new one).</summary>
    public int AttemptsInBudget() => Attempts - AttemptsAtBudgetStart;

    /// <summary>The PSP has not answered this refund within its retry budget: asking on could outlive the PSP's memory of the key.</summary>
    public bool IsOutOfBudget(RetryBudget budget) => Status == RefundStatus.Pending && !PspAnswered && budget.IsSpent(AttemptsInBudget());
}
