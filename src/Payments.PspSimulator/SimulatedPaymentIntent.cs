namespace Payments.PspSimulator;

/// <summary>The simulator's state of one payment intent. Immutable; updates replace it in the store.</summary>
public sealed record SimulatedPaymentIntent
{
    public required string Id { get; init; }

    public required string ClientSecret { get; init; }

    public string? IdempotencyKey { get; init; }

    public required long Amount { get; init; }

    /// <summary>ISO 4217 code, lower case as Stripe returns it.</summary>
    public required string Currency { get; init; }

    public required string Status { get; init; }

    public string? PaymentMethod { get; init; }

    public string? LatestCharge { get; init; }

    public long AmountReceived { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<string> PaymentMethodTypes { get; init; } = ["card"];

    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    /// <summary>Unix seconds.</summary>
    public required long Created { get; init; }

    /// <summary>The error of the last failed confirmation, if any.</summary>
    public SimulatedCardError? LastPaymentError { get; init; }

    /// <summary>Where the buyer's browser goes back to after 3-D Secure (the confirm's <c>return_url</c>).</summary>
    public string? ReturnUrl { get; init; }

    /// <summary>What has been refunded so far, in minor units. Stripe keeps this on the charge; we have one charge per intent.</summary>
    public long AmountRefunded { get; init; }

    /// <summary>
    /// For a <c>processing</c> intent: since when. It succeeds (and its webhook is sent) the processing
    /// delay of the running simulator later, so a restart with a shorter delay can make it overdue.
    /// </summary>
    public DateTimeOffset? ProcessingSince { get; init; }

    /// <summary>Unix seconds; set once the intent is canceled (Stripe's <c>canceled_at</c>).</summary>
    public long? CanceledAt { get; init; }

    /// <summary>Why it was canceled, as the cancel request said (<c>abandoned</c>, ...).</summary>
    public string? CancellationReason { get; init; }
}

/// <summary>A card error as Stripe reports it.</summary>
public sealed record SimulatedCardError(string Code, string? DeclineCode, string Message, string? Charge);
