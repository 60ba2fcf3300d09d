namespace Payments.Psp;

/// <summary>Where the platform account's bank statements come from, bound from the <c>Bank</c> configuration section.</summary>
public sealed class BankOptions
{
    public const string SectionName = "Bank";

    /// <summary>
    /// The bank's base address, serving <c>/_sim/bank/statements/{yyyy-mm-dd}</c>. Empty (the default): the PSP's
    /// <see cref="PspOptions.BaseUrl"/>, since the simulator plays the bank too.
    /// </summary>
    public string BaseUrl { get; set; } = string.Empty;
}
