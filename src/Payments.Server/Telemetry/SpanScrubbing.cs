using System.Diagnostics;
using OpenTelemetry.Instrumentation.AspNetCore;
using OpenTelemetry.Instrumentation.Http;

namespace Payments.Server.Telemetry;

/// <summary>
/// Keeps HTTP spans to what the request log would say about the same URL. Left alone, the ASP.NET Core instrumentation
/// (1.8.1 and later) replaces query values with "Redacted" but keeps the keys and the whole url.path, both caller input,
/// and turns redaction off altogether under OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION. HttpClient on
/// .NET 9 and later writes url.full itself, with the query as "*" but the path as it is, and with the query in full under
/// the System.Net.Http.DisableUriRedaction switch. So the three tags are written again from <see cref="LogScrubber"/>,
/// whatever those switches say.
/// </summary>
internal static class SpanScrubbing
{
    public const string UrlPath = "url.path";
    public const string UrlQuery = "url.query";
    public const string UrlFull = "url.full";

    /// <summary>Server spans: the instrumentation has set its url.* tags by the time it calls the request enricher.</summary>
    public static void Scrub(AspNetCoreTraceInstrumentationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnrichWithHttpRequest = (activity, request) =>
        {
            activity.SetTag(UrlPath, LogScrubber.Path((request.PathBase + request.Path).Value));
            var query = LogScrubber.Query(request.QueryString.Value);
            activity.SetTag(UrlQuery, query.Length == 0 ? null : query);
        };
    }

    /// <summary>
    /// Client spans: written when the request starts and again when its response arrives, since it is the runtime, not this
    /// instrumentation, that sets url.full, and this way the order in which the two run does not matter.
    /// </summary>
    public static void Scrub(HttpClientTraceInstrumentationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnrichWithHttpRequestMessage = (activity, request) => ScrubUrl(activity, request.RequestUri);
        options.EnrichWithHttpResponseMessage = (activity, response) => ScrubUrl(activity, response.RequestMessage?.RequestUri);
    }

    private static void ScrubUrl(Activity activity, Uri? url)
    {
        if (LogScrubber.Url(url) is { } scrubbed)
        {
            activity.SetTag(UrlFull, scrubbed);
        }
    }
}
