using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Payments.Api.Problems;

namespace Payments.Api.Authentication;

/// <summary>Who is calling: a merchant (sees only its own resources) or an operator.</summary>
public sealed record Caller(string? MerchantId, bool IsOperator)
{
    private static readonly object ItemKey = new();

    /// <summary>True when the caller may see a resource owned by <paramref name="ownerMerchantId"/>.</summary>
    public bool CanSee(string? ownerMerchantId) => IsOperator || (MerchantId is not null && MerchantId == ownerMerchantId);

    public static Caller From(HttpContext context) =>
        context.Items[ItemKey] as Caller ?? throw new InvalidOperationException("The route has no API key filter.");

    /// <summary>The caller if the API key filter accepted one for this request, otherwise null (the request log asks after every request).</summary>
    public static Caller? Find(HttpContext context) => context.Items[ItemKey] as Caller;

    /// <summary>Requires a valid bearer key (401) and, when <paramref name="operatorOnly"/>, an operator's (403).</summary>
    public static EndpointFilterDelegate Filter(EndpointFilterFactoryContext _, EndpointFilterDelegate next, bool operatorOnly) => async invocation =>
    {
        var context = invocation.HttpContext;
        var keys = context.RequestServices.GetRequiredService<IOptions<ApiKeyOptions>>().Value.EffectiveKeys;
        var match = Match(keys, BearerKey(context.Request));
        if (match is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return ApiProblem.Unauthorized();
        }

        if (operatorOnly && match.Role != ApiKeyRole.Operator)
        {
            return ApiProblem.Forbidden();
        }

        Accept(context, match);
        return await next(invocation);
    };

    /// <summary>The key sent as 'Authorization: Bearer &lt;key&gt;', or null.</summary>
    public static string? BearerKey(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : null;
    }

    /// <summary>The key among <paramref name="keys"/> equal to <paramref name="presented"/> (compared in fixed time), or null.</summary>
    public static ApiKey? Match(IEnumerable<ApiKey> keys, string? presented) =>
        presented is null ? null : keys.FirstOrDefault(key => FixedTimeEquals(key.Key, presented));

    /// <summary>Records <paramref name="key"/>'s holder as this request's caller (<see cref="From"/>, <see cref="Find"/>).</summary>
    public static void Accept(HttpContext context, ApiKey key) =>
        context.Items[ItemKey] = new Caller(key.MerchantId, key.Role == ApiKeyRole.Operator);

    private static bool FixedTimeEquals(string expected, string presented) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(presented));
}

public static class CallerEndpointExtensions
{
    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder, bool operatorOnly = false)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory((context, next) => Caller.Filter(context, next, operatorOnly));
}
