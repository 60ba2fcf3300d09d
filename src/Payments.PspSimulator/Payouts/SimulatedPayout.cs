namespace Payments.PspSimulator.Payouts;

/// <summary>
/// The simulator's state of one payout to a bank account. Immutable; updates replace it in the store. Payouts start
/// <c>pending</c> and move on, one processing delay at a time, as their destination says (<see cref="TestBankAccounts"/>).
/// </summary>
public sealed record SimulatedPayout
{
    public required string Id { get; init; }

    public string? IdempotencyKey { get; init; }

    public required long Amount { get; init; }

    /// <summary>ISO 4217 code, lower case as Stripe returns it.</summary>
    public required string Currency { get; init; }

    /// <summary>The bank account paid to (<c>ba_...</c>).</summary>
    public required string Destination { get; init; }

    /// <summary><c>standard</c> or <c>instant</c>; both behave the same here.</summary>
    public required string Method { get; init; }

    /// <summary><c>pending</c>, <c>paid</c> or <c>failed</c>.</summary>
    public required string Status { get; init; }

    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    /// <summary>Unix seconds.</summary>
    public required long Created { get; init; }

    /// <summary>Unix seconds, midnight UTC of the day the money is expected at the bank, as Stripe gives it.</summary>
    public required long ArrivalDate { get; init; }

    /// <summary>
    /// Unix seconds, on the simulator's clock (<see cref="SimulatorTransaction.Now"/>): when it was paid, so the bank
    /// statement of that day debits it. Null until paid (and in files written before it existed).
    /// </summary>
    public long? PaidAt { get; init; }

    /// <summary>Why a failed payout failed, as Stripe words it (<c>account_closed</c>, ...).</summary>
    public string? FailureCode { get; init; }

    public string? FailureMessage { get; init; }

    /// <summary>
    /// For a payout that will change again (<c>pending</c>, or <c>paid</c> to an account that fails after paying): since
    /// when it has been in its status. It moves on the processing delay of the running simulator later, like a processing
    /// intent, so that after a restart those overdue move at once.
    /// </summary>
    public DateTimeOffset? ChangingSince { get; init; }
}
