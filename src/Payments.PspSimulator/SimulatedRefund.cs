namespace Payments.PspSimulator;

/// <summary>
/// The simulator's state of one refund. Immutable; updates replace it in the store. Refunds succeed at once; those of a
/// <c>pm_card_refundFail</c> charge fail later.
/// </summary>
public sealed record SimulatedRefund
{
    public required string Id { get; init; }

    public string? IdempotencyKey { get; init; }

    public required string PaymentIntent { get; init; }

    public string? Charge { get; init; }

    public required long Amount { get; init; }

    public required string Currency { get; init; }

    public required string Status { get; init; }

    public string? Reason { get; init; }

    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    /// <summary>Unix seconds.</summary>
    public required long Created { get; init; }

    /// <summary>Why a failed refund failed, as Stripe words it (<c>expired_or_canceled_card</c>, ...).</summary>
    public string? FailureReason { get; init; }

    /// <summary>
    /// For a refund that will fail: since when it has been <c>succeeded</c>. It fails the processing delay of the running
    /// simulator later, like a processing intent finishes.
    /// </summary>
    public DateTimeOffset? FailingSince { get; init; }
}
