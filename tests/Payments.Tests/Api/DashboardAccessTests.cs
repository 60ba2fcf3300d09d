using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Payments.Api.Authentication;
using Payments.Server.Dashboard;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>The Orleans dashboard opens to an operator key only: as a bearer token, or through the sign-in page's cookie.</summary>
[Collection(ServerCollection.Name)]
public sealed partial class DashboardAccessTests(ServerFixture fixture)
{
    private const string DataEndpoint = "/dashboard/DashboardCounters";

    [Theory]
    [InlineData("/dashboard/")]
    [InlineData(DataEndpoint)]
    [InlineData("/dashboard/Trace")]
    public async Task Without_a_key_the_dashboard_answers_401(string path)
    {
        using var client = Client();

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("unauthorized", await ProblemCodeAsync(response));
    }

    [Fact]
    public async Task A_browser_without_a_key_is_sent_to_the_sign_in_page()
    {
        using var client = Client();

        using var response = await client.SendAsync(BrowserGet("/dashboard/"));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/dashboard-sign-in", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Every_dashboard_endpoint_refuses_a_caller_without_a_key()
    {
        var patterns = fixture.Server.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Select(endpoint => endpoint.RoutePattern.RawText!)
            .Where(pattern => pattern.StartsWith("/dashboard/", StringComparison.Ordinal))
            .ToList();
        using var client = Client();

        Assert.True(patterns.Count >= 15, string.Join(", ", patterns));
        foreach (var pattern in patterns)
        {
            var path = RouteParameter().Replace(pattern, match => match.Value.Contains(":int", StringComparison.Ordinal) ? "1" : "x");
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {(int)response.StatusCode}");
        }
    }

    [Theory]
    [InlineData("/dashboard/")]
    [InlineData(DataEndpoint)]
    public async Task A_merchant_key_gets_403(string path)
    {
        using var client = Client(TestServer.MerchantKey);

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("forbidden", await ProblemCodeAsync(response));
    }

    [Fact]
    public async Task An_unknown_bearer_key_gets_401_even_from_a_browser()
    {
        using var client = Client("sk_test_nobody");

        using var response = await client.SendAsync(BrowserGet("/dashboard/"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("unauthorized", await ProblemCodeAsync(response));
    }

    [Fact]
    public async Task An_operator_bearer_key_opens_the_dashboard_and_its_data()
    {
        using var client = Client(TestServer.OperatorKey);

        using var page = await client.GetAsync("/dashboard/");
        using var counters = await client.GetAsync(DataEndpoint);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, counters.StatusCode);
        Assert.Equal("application/json", counters.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await counters.Content.ReadAsStringAsync());
        Assert.True(json.RootElement.TryGetProperty("totalActiveHostCount", out _), json.RootElement.ToString());
    }

    [Fact]
    public async Task The_sign_in_page_is_a_form_for_the_operator_key()
    {
        using var client = Client();

        using var response = await client.GetAsync("/dashboard-sign-in");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<form method=\"post\" action=\"/dashboard-sign-in\">", html, StringComparison.Ordinal);
        Assert.Contains("type=\"password\" name=\"key\"", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sk_test_nobody", HttpStatusCode.Unauthorized)]
    [InlineData("", HttpStatusCode.Unauthorized)]
    [InlineData(TestServer.MerchantKey, HttpStatusCode.Forbidden)]
    public async Task Signing_in_without_an_operator_key_is_refused_and_sets_no_cookie(string key, HttpStatusCode expected)
    {
        var cookies = new CookieContainer();
        using var client = Client(cookies: cookies);

        using var response = await SignInAsync(client, key);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Empty(cookies.GetAllCookies());
        using var dashboard = await client.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.Unauthorized, dashboard.StatusCode);
    }

    [Fact]
    public async Task Signing_in_with_the_operator_key_sets_a_cookie_that_opens_the_dashboard()
    {
        var cookies = new CookieContainer();
        using var client = Client(cookies: cookies);

        using var signIn = await SignInAsync(client, TestServer.OperatorKey);

        Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
        Assert.Equal("/dashboard/", signIn.Headers.Location?.OriginalString);
        var setCookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith(DashboardAccess.CookieName + "=", setCookie, StringComparison.Ordinal);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(TestServer.OperatorKey, setCookie, StringComparison.Ordinal);
        // Plain HTTP here: Secure would keep the browser from ever sending it back.
        Assert.DoesNotContain("secure", setCookie, StringComparison.OrdinalIgnoreCase);

        using var page = await client.SendAsync(BrowserGet("/dashboard/"));
        using var counters = await client.GetAsync(DataEndpoint);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, counters.StatusCode);
    }

    [Fact]
    public async Task A_bearer_key_is_judged_on_its_own_even_with_a_session_cookie()
    {
        var cookies = new CookieContainer();
        using var client = Client(TestServer.MerchantKey, cookies);
        cookies.Add(fixture.Server.ApiAddress, new Cookie(DashboardAccess.CookieName, OperatorSession(DateTimeOffset.UtcNow.AddHours(1))));

        using var response = await client.GetAsync("/dashboard/");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Signing_out_closes_the_dashboard()
    {
        var cookies = new CookieContainer();
        using var client = Client(cookies: cookies);
        using var signIn = await SignInAsync(client, TestServer.OperatorKey);
        using var before = await client.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);

        using var signOut = await client.PostAsync("/dashboard-sign-out", content: null);

        Assert.Equal(HttpStatusCode.SeeOther, signOut.StatusCode);
        Assert.Equal("/dashboard-sign-in", signOut.Headers.Location?.OriginalString);
        Assert.Empty(cookies.GetAllCookies());
        using var after = await client.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        using var browser = await client.SendAsync(BrowserGet("/dashboard/"));
        Assert.Equal(HttpStatusCode.Redirect, browser.StatusCode);
    }

    [Fact]
    public async Task An_expired_or_forged_session_cookie_is_refused()
    {
        var now = DateTimeOffset.UtcNow;
        var valid = OperatorSession(now.AddHours(1));
        var expired = OperatorSession(now.AddSeconds(-1));
        // The expiry moved forward with the old signature.
        var extended = now.AddHours(100).ToUnixTimeSeconds() + valid[valid.IndexOf('.', StringComparison.Ordinal)..];
        var merchantSigned = DashboardAccess.Session(new ApiKey { Key = TestServer.MerchantKey, MerchantId = "merchant_a" }, now.AddHours(1));
        foreach (var cookie in new[] { expired, extended, merchantSigned, "garbage", "1.2", valid + "x" })
        {
            var cookies = new CookieContainer();
            using var client = Client(cookies: cookies);
            cookies.Add(fixture.Server.ApiAddress, new Cookie(DashboardAccess.CookieName, cookie));

            using var response = await client.GetAsync("/dashboard/");

            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{cookie}: {(int)response.StatusCode}");
        }

        var fresh = new CookieContainer();
        using var control = Client(cookies: fresh);
        fresh.Add(fixture.Server.ApiAddress, new Cookie(DashboardAccess.CookieName, valid));
        using var opened = await control.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
    }

    [Fact]
    public async Task Health_routes_stay_open()
    {
        using var client = Client();

        using var response = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static string OperatorSession(DateTimeOffset expires) =>
        DashboardAccess.Session(new ApiKey { Key = TestServer.OperatorKey, Role = ApiKeyRole.Operator }, expires);

    /// <summary>No redirects followed, so that each answer is seen as the server gave it; cookies only when given a jar.</summary>
    private HttpClient Client(string? apiKey = null, CookieContainer? cookies = null)
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = cookies is not null };
        if (cookies is not null)
        {
            handler.CookieContainer = cookies;
        }

        var client = new HttpClient(handler) { BaseAddress = fixture.Server.ApiAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    private static Task<HttpResponseMessage> SignInAsync(HttpClient client, string key) =>
        client.PostAsync("/dashboard-sign-in", new FormUrlEncodedContent([new KeyValuePair<string, string>("key", key)]));

    private static HttpRequestMessage BrowserGet(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        return request;
    }

    private static async Task<string?> ProblemCodeAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return problem.RootElement.GetProperty("code").GetString();
    }

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex RouteParameter();
}
