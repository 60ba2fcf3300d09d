namespace Payments.Psp;

/// <summary>
/// The PSP's own record of charges, read for checking ours against it (the invariants), not for moving money. Unlike
/// <see cref="IPspClient"/>, failures throw (<see cref="PspReadException"/>): a check that cannot read the PSP says so.
/// </summary>
public interface IPspPaymentIntents
{
    /// <summary>Every payment intent whose <c>metadata[payment_order_id]</c> is <paramref name="paymentOrderId"/>, through all pages of the search.</summary>
    Task<IReadOnlyList<PspPaymentIntent>> SearchByPaymentOrderAsync(string paymentOrderId, CancellationToken cancellationToken);

    /// <summary>One page of all payment intents, newest first; <paramref name="startingAfter"/> is the last id of the page before.</summary>
    Task<PspPaymentIntentPage> ListAsync(string? startingAfter, int limit, CancellationToken cancellationToken);
}

/// <param name="PaymentOrderId">Our <c>metadata[payment_order_id]</c>; null for an intent we did not create.</param>
/// <param name="Status">Stripe's status: <c>succeeded</c>, <c>processing</c>, <c>requires_action</c>, ...</param>
public sealed record PspPaymentIntent(string Id, string Status, string? PaymentOrderId, long AmountMinor, string Currency, DateTimeOffset Created)
{
    public bool Succeeded => Status == "succeeded";
}

public sealed record PspPaymentIntentPage(IReadOnlyList<PspPaymentIntent> Intents, bool HasMore);

/// <summary>The PSP could not be read (refused, unreachable, timed out).</summary>
public sealed class PspReadException(string message, Exception? inner = null) : Exception(message, inner);
