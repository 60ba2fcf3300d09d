namespace Payments.PspSimulator;

/// <summary>Where the simulator sends its webhook events, and the secret it signs them with (Stripe's <c>whsec_...</c>).</summary>
/// <param name="Url">The endpoint that receives every event (<c>POST</c>); empty: events are recorded, not sent.</param>
/// <param name="Secret">The signing secret, used whole as the HMAC-SHA256 key, as Stripe does.</param>
public sealed record SimulatorWebhookOptions(string Url, string Secret = SimulatorWebhookOptions.DefaultSecret)
{
    /// <summary>The development default, the same as the gateway's <c>Psp:WebhookSecrets</c> default.</summary>
    public const string DefaultSecret = "whsec_dev_payments_orleans";
}
