using System.Diagnostics;
using Payments.Api.Authentication;

namespace Payments.Server.Telemetry;

/// <summary>
/// One log line per HTTP request: method, path, query (values redacted), status, time taken, caller and trace id. Built
/// from an allow-list of fields rather than by filtering a full dump, so headers (Authorization, Idempotency-Key, the
/// signature headers) and bodies never reach it; the path and query go through <see cref="LogScrubber"/>, since a caller
/// may put anything in them.
/// </summary>
internal static partial class RequestLog
{
    public const string Category = "Payments.Requests";

    /// <summary>Polled every few seconds by load balancers and the dashboard page: at Debug, or they drown the rest.</summary>
    private static readonly PathString[] PolledPaths = ["/health", "/dashboard"];

    /// <summary>
    /// Installed before the problem responses, so that it sees the status they settle on (a 503 for a cluster that is
    /// briefly away, a 404 body) and times the whole request.
    /// </summary>
    public static WebApplication UseRequestLog(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        app.Use((context, next) => LogAsync(context, next, logger));
        return app;
    }

    internal static async Task LogAsync(HttpContext context, RequestDelegate next, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        var escaped = false;
        try
        {
            await next(context);
        }
        catch
        {
            // Nothing between us and the server handled it: the client gets a 500, if it gets an answer at all.
            escaped = true;
            throw;
        }
        finally
        {
            Write(context, logger, escaped ? StatusCodes.Status500InternalServerError : context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
        }
    }

    private static void Write(HttpContext context, ILogger logger, int status, TimeSpan elapsed)
    {
        var request = context.Request;
        var level = PolledPaths.Any(polled => request.Path.StartsWithSegments(polled, StringComparison.OrdinalIgnoreCase)) ? LogLevel.Debug : LogLevel.Information;
        if (!logger.IsEnabled(level))
        {
            return;
        }

        var caller = Caller.Find(context) switch
        {
            { MerchantId: { } merchantId } => merchantId,
            // Parentheses cannot occur in a merchant id, so an operator is never mistaken for a merchant of that name.
            { IsOperator: true } => "(operator)",
            _ => "-",
        };
        RequestHandled(
            logger,
            level,
            MethodName(request.Method),
            LogScrubber.Path((request.PathBase + request.Path).Value),
            LogScrubber.Query(request.QueryString.Value),
            status,
            Math.Round(elapsed.TotalMilliseconds, 1),
            caller,
            Activity.Current?.TraceId.ToHexString() ?? "-");
    }

    /// <summary>The standard methods by name; any other token (a caller can send anything) as "_OTHER", as OpenTelemetry does.</summary>
    private static string MethodName(string method) => IsStandard(method) ? HttpMethods.GetCanonicalizedValue(method) : "_OTHER";

    private static bool IsStandard(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method)
        || HttpMethods.IsPatch(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)
        || HttpMethods.IsTrace(method) || HttpMethods.IsConnect(method);

    [LoggerMessage(EventId = 1, EventName = "RequestHandled",
        Message = "{Method} {Path}{Query} responded {StatusCode} in {ElapsedMs} ms (caller {Caller}, trace {TraceId})")]
    private static partial void RequestHandled(ILogger logger, LogLevel level, string method, string path, string query, int statusCode,
        double elapsedMs, string caller, string traceId);
}
