namespace Payments.Api.Authentication;

public sealed class ApiKeyOptions
{
    public const string SectionName = "Auth";

    /// <summary>The development keys, used when none are configured.</summary>
    public static readonly IReadOnlyList<ApiKey> DevelopmentKeys =
    [
        new() { Key = "sk_test_demo_merchant", MerchantId = "demo_merchant", Role = ApiKeyRole.Merchant },
        new() { Key = "sk_test_demo_operator", Role = ApiKeyRole.Operator },
    ];

    public List<ApiKey> ApiKeys { get; set; } = [];

    public IReadOnlyList<ApiKey> EffectiveKeys => ApiKeys.Count > 0 ? ApiKeys : DevelopmentKeys;
}

public sealed class ApiKey
{
    public string Key { get; set; } = string.Empty;

    /// <summary>The merchant the key acts for; operator keys have none.</summary>
    public string? MerchantId { get; set; }

    public ApiKeyRole Role { get; set; } = ApiKeyRole.Merchant;
}

public enum ApiKeyRole
{
    Merchant,
    Operator,
}
