namespace Payments.Psp;

public enum PspOutcomeKind
{
    /// <summary>The money was taken. Final.</summary>
    Succeeded,

    /// <summary>The PSP refused the charge (card declined, invalid request, idempotency conflict). Final.</summary>
    Declined,

    /// <summary>
    /// The result is not known (timeout, connection failure, 5xx, 429, 409): the charge may or may not
    /// have happened. Retry with the same idempotency key, or look the charge up.
    /// </summary>
    Unknown,

    /// <summary>
    /// The charge exists but is not finished (<c>requires_action</c>, <c>processing</c>); its end
    /// arrives later, by webhook or by <see cref="IPspClient.GetChargeAsync"/>.
    /// </summary>
    RequiresAction,
}

/// <summary>The result of a charge at the PSP.</summary>
/// <param name="Kind">The class of outcome.</param>
/// <param name="PspReference">The PSP's id for the charge (a payment intent id), when known.</param>
/// <param name="FailureCode">
/// For <see cref="PspOutcomeKind.Declined"/> and <see cref="PspOutcomeKind.Unknown"/>, a machine-readable
/// code (<c>card_declined</c>, <c>insufficient_funds</c>, <c>idempotency_error</c>, <c>timeout</c>, ...).
/// For <see cref="PspOutcomeKind.RequiresAction"/>, the PSP status (<c>requires_action</c> or <c>processing</c>).
/// </param>
/// <param name="FailureMessage">A human-readable explanation.</param>
/// <param name="RetryAfter">For <see cref="PspOutcomeKind.Unknown"/>, how long the PSP asked us to wait, if it did.</param>
/// <param name="ActionUrl">For <see cref="PspOutcomeKind.RequiresAction"/>, where the buyer completes the payment
/// (the 3-D Secure challenge or the hosted payment page), when there is such a page.</param>
public sealed record PspChargeOutcome(
    PspOutcomeKind Kind,
    string? PspReference,
    string? FailureCode,
    string? FailureMessage,
    TimeSpan? RetryAfter,
    string? ActionUrl = null)
{
    public bool IsFinal => Kind is PspOutcomeKind.Succeeded or PspOutcomeKind.Declined;

    public static PspChargeOutcome Succeeded(string pspReference) =>
        new(PspOutcomeKind.Succeeded, pspReference, null, null, null);

    public static PspChargeOutcome Declined(string failureCode, string? failureMessage, string? pspReference = null) =>
        new(PspOutcomeKind.Declined, pspReference, failureCode, failureMessage, null);

    public static PspChargeOutcome Unknown(string failureCode, string? failureMessage, TimeSpan? retryAfter = null, string? pspReference = null) =>
        new(PspOutcomeKind.Unknown, pspReference, failureCode, failureMessage, retryAfter);

    public static PspChargeOutcome RequiresAction(string pspReference, string status, string? actionUrl = null) =>
        new(PspOutcomeKind.RequiresAction, pspReference, status, null, null, actionUrl);
}
