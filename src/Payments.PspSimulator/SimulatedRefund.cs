namespace Payments.PspSimulator;

/// <summary>The simulator's state of one refund. Refunds succeed at once, so it never changes.</summary>
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
}
