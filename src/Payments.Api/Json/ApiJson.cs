using System.Text.Json;
using System.Text.Json.Serialization;

namespace Payments.Api.Json;

public static class ApiJson
{
    /// <summary>snake_case names; nulls written (the contract shows "next_action": null); no indentation.</summary>
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        return options;
    }
}
