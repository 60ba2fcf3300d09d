using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Orleans.Dashboard;
using Payments.Api.Authentication;
using Payments.Api.Problems;

namespace Payments.Server.Dashboard;

/// <summary>
/// The Orleans dashboard (grain state, the live log stream) for operators only: an operator API key as a bearer token
/// (tools), or a cookie from the sign-in page (a browser). A merchant key gets 403; no credentials get 401, or a browser a
/// redirect to the sign-in page.
/// </summary>
/// <remarks>
/// The cookie is <c>{expiry}.{HMAC-SHA256 of the expiry, keyed by an operator key}</c>, not ASP.NET Core's cookie
/// authentication: that one encrypts with the Data Protection key ring, which is private to each process unless it is
/// persisted and shared, so a cookie from one silo would not open another's dashboard nor survive a restart. Keyed by the
/// operator key itself, every silo with the same configuration accepts it, nothing new needs configuring, the key cannot
/// be read back from it, and removing the key from the configuration ends its sessions.
/// </remarks>
public static class DashboardAccess
{
    public const string SignInPath = "/dashboard-sign-in";
    public const string SignOutPath = "/dashboard-sign-out";
    public const string CookieName = "payments_dashboard";

    /// <summary>How long a sign-in lasts; the expiry is inside the signed value, so an old cookie cannot be extended.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    private static readonly byte[] Purpose = "payments-orleans/dashboard-session/v1|"u8.ToArray();

    /// <summary>Maps the Orleans dashboard at <paramref name="routePrefix"/>, operators only, with its sign-in and sign-out pages.</summary>
    public static RouteGroupBuilder MapOperatorDashboard(this IEndpointRouteBuilder endpoints, string routePrefix)
    {
        // Bound here rather than taken from IOptions<ApiKeyOptions>: a silo-only process does not add the gateway API,
        // which binds those options, and unbound options would mean the development keys.
        var keys = endpoints.ServiceProvider.GetRequiredService<IConfiguration>()
            .GetSection(ApiKeyOptions.SectionName).Get<ApiKeyOptions>()?.EffectiveKeys ?? ApiKeyOptions.DevelopmentKeys;
        var time = endpoints.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;
        var dashboardPath = routePrefix.TrimEnd('/') + "/";

        endpoints.MapGet(SignInPath, (HttpContext context) => SignInPage(context, StatusCodes.Status200OK, message: null));
        endpoints.MapPost(SignInPath, async (HttpContext context) =>
        {
            var presented = context.Request.HasFormContentType ? (string?)(await context.Request.ReadFormAsync(context.RequestAborted))["key"] : null;
            var key = Caller.Match(keys, string.IsNullOrEmpty(presented) ? null : presented);
            if (key is null)
            {
                return SignInPage(context, StatusCodes.Status401Unauthorized, "Unknown key.");
            }

            if (key.Role != ApiKeyRole.Operator)
            {
                return SignInPage(context, StatusCodes.Status403Forbidden, "The dashboard needs an operator key.");
            }

            var expires = time.GetUtcNow() + SessionLifetime;
            context.Response.Cookies.Append(CookieName, Session(key, expires), CookieOptions(context, expires));
            return SeeOther(context, dashboardPath);
        });
        endpoints.MapMethods(SignOutPath, [HttpMethods.Get, HttpMethods.Post], (HttpContext context) =>
        {
            context.Response.Cookies.Delete(CookieName, CookieOptions(context, expires: null));
            return SeeOther(context, SignInPath);
        });

        var dashboard = endpoints.MapOrleansDashboard(routePrefix);
        dashboard.AddEndpointFilter(async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            var bearer = Caller.BearerKey(context.Request);
            var key = bearer is not null
                ? Caller.Match(keys, bearer)
                : SessionKey(keys, context.Request.Cookies[CookieName], time.GetUtcNow());
            if (key is null)
            {
                if (bearer is null && context.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
                {
                    return Results.Redirect(context.Request.PathBase + SignInPath);
                }

                context.Response.Headers.WWWAuthenticate = "Bearer";
                return ApiProblem.Unauthorized();
            }

            if (key.Role != ApiKeyRole.Operator)
            {
                return ApiProblem.Forbidden();
            }

            Caller.Accept(context, key);
            return await next(invocation);
        });
        return dashboard;
    }

    /// <summary>The operator key whose session <paramref name="cookie"/> is, if it is one and has not expired.</summary>
    internal static ApiKey? SessionKey(IEnumerable<ApiKey> keys, string? cookie, DateTimeOffset now)
    {
        var dot = cookie?.IndexOf('.') ?? -1;
        if (dot <= 0
            || !long.TryParse(cookie.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds <= now.ToUnixTimeSeconds()
            || !Base64Url.IsValid(cookie.AsSpan(dot + 1)))
        {
            return null;
        }

        var presented = Base64Url.DecodeFromChars(cookie.AsSpan(dot + 1));
        return keys.FirstOrDefault(key => key.Role == ApiKeyRole.Operator
            && CryptographicOperations.FixedTimeEquals(Mac(key, seconds), presented));
    }

    internal static string Session(ApiKey key, DateTimeOffset expires)
    {
        var seconds = expires.ToUnixTimeSeconds();
        return seconds.ToString(CultureInfo.InvariantCulture) + "." + Base64Url.EncodeToString(Mac(key, seconds));
    }

    private static byte[] Mac(ApiKey key, long expiresSeconds) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(key.Key), (byte[])[.. Purpose, .. Encoding.ASCII.GetBytes(expiresSeconds.ToString(CultureInfo.InvariantCulture))]);

    private static CookieOptions CookieOptions(HttpContext context, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Path = "/",
        Expires = expires,
        IsEssential = true,
    };

    private static IResult SeeOther(HttpContext context, string path)
    {
        context.Response.Headers.Location = context.Request.PathBase + path;
        context.Response.Headers.CacheControl = "no-store";
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    private static IResult SignInPage(HttpContext context, int status, string? message)
    {
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";
        var action = HtmlEncoder.Default.Encode(context.Request.PathBase + SignInPath);
        var error = message is null ? "" : $"<p role=\"alert\">{HtmlEncoder.Default.Encode(message)}</p>";
        return Results.Content(
            $$"""
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Dashboard sign-in</title>
            <style>body{font-family:sans-serif;max-width:24rem;margin:4rem auto}input,button{font-size:1rem}</style></head>
            <body>
            <h1>Orleans dashboard</h1>
            {{error}}
            <form method="post" action="{{action}}">
            <label>Operator API key <input type="password" name="key" required autofocus autocomplete="current-password"></label>
            <button type="submit">Sign in</button>
            </form>
            </body>
            </html>
            """,
            "text/html; charset=utf-8",
            Encoding.UTF8,
            status);
    }
}
