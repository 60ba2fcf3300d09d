namespace Payments.PspSimulator;

/// <summary>The simulator's state of one Checkout Session (the hosted payment page). Immutable; updates replace it in the store.</summary>
public sealed record SimulatedCheckoutSession
{
    public required string Id { get; init; }

    public string? IdempotencyKey { get; init; }

    /// <summary>The hosted page, on the simulator's address as the creating request saw it.</summary>
    public required string Url { get; init; }

    public required string Mode { get; init; }

    /// <summary><c>open</c> or <c>complete</c>.</summary>
    public required string Status { get; init; }

    /// <summary><c>unpaid</c> or <c>paid</c>.</summary>
    public required string PaymentStatus { get; init; }

    /// <summary>The intent made by the first card entered on the page; null until then.</summary>
    public string? PaymentIntent { get; init; }

    public required long AmountTotal { get; init; }

    /// <summary>ISO 4217 code, lower case as Stripe returns it.</summary>
    public required string Currency { get; init; }

    public required IReadOnlyList<SimulatedLineItem> LineItems { get; init; }

    public required string SuccessUrl { get; init; }

    public string? CancelUrl { get; init; }

    public string? ClientReferenceId { get; init; }

    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    /// <summary><c>payment_intent_data[metadata]</c>: copied onto the payment intent the page makes.</summary>
    public required IReadOnlyDictionary<string, string> PaymentIntentMetadata { get; init; }

    /// <summary>Unix seconds.</summary>
    public required long Created { get; init; }

    /// <summary>Unix seconds.</summary>
    public required long ExpiresAt { get; init; }
}

/// <summary>One <c>line_items[i]</c> with inline <c>price_data</c>.</summary>
public sealed record SimulatedLineItem(string Name, long UnitAmount, long Quantity);
