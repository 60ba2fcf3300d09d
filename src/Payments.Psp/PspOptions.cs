namespace Payments.Psp;

/// <summary>Settings of the PSP connection, bound from the <c>Psp</c> configuration section.</summary>
public sealed class PspOptions
{
    public const string SectionName = "Psp";

    /// <summary>The PSP's API base address (the simulator by default; <c>https://api.stripe.com</c> for Stripe).</summary>
    public string BaseUrl { get; set; } = "http://127.0.0.1:5090";

    public string ApiKey { get; set; } = "sk_test_payments_orleans";

    /// <summary>How long one HTTP call to the PSP may take before its outcome counts as unknown.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a settlement report run may stay pending before the report counts as unavailable.</summary>
    public TimeSpan ReportRunTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Webhook signing secrets; more than one during a rotation.</summary>
    public string[] WebhookSecrets { get; set; } = ["whsec_dev_payments_orleans"];
}
