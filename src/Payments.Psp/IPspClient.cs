namespace Payments.Psp;

/// <summary>
/// The payment service provider as the payment order grain sees it: one charge per payment order,
/// made idempotent at the PSP by the payment order id.
/// </summary>
public interface IPspClient
{
    /// <summary>
    /// Charges the payment method once for the payment order. Calling it again for the same payment
    /// order (with the same parameters) never charges twice: the PSP replays the first result.
    /// Never throws for PSP or network failures; those come back as <see cref="PspOutcomeKind.Unknown"/>.
    /// </summary>
    Task<PspChargeOutcome> ChargeAsync(PspChargeRequest request, CancellationToken cancellationToken);

    /// <summary>Reads the current state of a charge made earlier (for example, one that needed action).</summary>
    Task<PspChargeOutcome> GetChargeAsync(string paymentOrderId, string pspReference, CancellationToken ct);
}
