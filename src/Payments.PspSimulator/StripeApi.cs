using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Payments.PspSimulator.Balance;
using Payments.PspSimulator.Bank;
using Payments.PspSimulator.Payouts;
using Payments.PspSimulator.Reporting;

namespace Payments.PspSimulator;

/// <summary>
/// The simulated Stripe endpoints (<c>/v1/...</c>) and the test-only ones (<c>/_sim/...</c>), with what they share: the API key
/// check, latency and fault rolls, idempotent answers. Each resource maps its own routes (payment intents in
/// <c>PaymentIntents/</c>, and so on).
/// </summary>
internal static partial class StripeApi
{
    private const string IdempotencyKeyHeader = "Idempotency-Key";

    public static void Map(IEndpointRouteBuilder app)
    {
        MapPaymentIntents(app);
        CheckoutSessionsApi.Map(app);
        RefundsApi.Map(app);
        PayoutsApi.Map(app);
        ReportRunsApi.Map(app);
        ClockApi.Map(app);
        SettlementFaults.Map(app);
        BankStatementsApi.Map(app);
        HostedPages.Map(app);
        app.MapGet("/_sim/payment_intents", ListSimulatedIntents);
        app.MapGet("/_sim/events", ListSimulatedEvents);
        app.MapGet("/_sim/faults", GetFaults);
        app.MapPost("/_sim/faults", SetFaultsAsync);
    }

    /// <summary>Any <c>Authorization</c> is accepted on <c>/v1</c>, but there has to be one, as at Stripe.</summary>
    public static Task RequireApiKeyAsync(HttpContext http, RequestDelegate next)
    {
        http.Response.Headers["Request-Id"] = SimulatorStore.NewId("req");
        if (http.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal)
            && string.IsNullOrWhiteSpace(http.Request.Headers.Authorization))
        {
            return WriteAsync(http, new SimulatorResponse(401, StripeJson.ErrorBody(
                "invalid_request_error",
                null,
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.")));
        }

        return next(http);
    }

    /// <summary>The fault profile's <c>latency_ms</c>, before every <c>/v1</c> request (replays included).</summary>
    public static async Task DelayAsync(HttpContext http, RequestDelegate next)
    {
        if (http.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal)
            && http.RequestServices.GetRequiredService<SimulatorFaults>().Current.LatencyMs is > 0 and var latency)
        {
            try
            {
                await Task.Delay(latency, http.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                return;
            }
        }

        await next(http).ConfigureAwait(false);
    }

    private static IResult ListSimulatedIntents(SimulatorStore store)
    {
        var list = new JsonArray();
        foreach (var intent in store.ListIntents())
        {
            var metadata = StripeJson.Metadata(intent.Metadata);

            list.Add(new JsonObject
            {
                ["id"] = intent.Id,
                ["idempotency_key"] = intent.IdempotencyKey,
                ["amount"] = intent.Amount,
                ["currency"] = intent.Currency,
                ["status"] = intent.Status,
                ["metadata"] = metadata,
                ["amount_refunded"] = intent.AmountRefunded,
            });
        }

        return Results.Content(StripeJson.Serialize(list), "application/json", Encoding.UTF8);
    }

    /// <summary>Every webhook event, in the order they happened, with its body exactly as sent and how its delivery went.</summary>
    private static IResult ListSimulatedEvents(SimulatorStore store)
    {
        var list = new JsonArray();
        foreach (var webhookEvent in store.ListEvents())
        {
            list.Add(new JsonObject
            {
                ["id"] = webhookEvent.Id,
                ["type"] = webhookEvent.Type,
                ["url"] = webhookEvent.Url,
                ["body"] = webhookEvent.Body,
                ["attempts"] = webhookEvent.Attempts,
                ["delivered"] = webhookEvent.Delivered,
                ["deliveries"] = webhookEvent.Deliveries,
                ["dropped"] = webhookEvent.Dropped,
                ["created"] = webhookEvent.Created,
            });
        }

        return Results.Content(StripeJson.Serialize(list), "application/json", Encoding.UTF8);
    }

    private static IResult GetFaults(SimulatorFaults faults) =>
        Results.Content(StripeJson.Serialize(faults.Current.ToJson()), "application/json", Encoding.UTF8);

    private static async Task<IResult> SetFaultsAsync(HttpContext http, SimulatorFaults faults)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false);
        if (!SimulatorFaultProfile.TryParse(body, out var profile, out var error, out var field))
        {
            return Results.Content(StripeJson.ErrorBody("invalid_request_error", "parameter_invalid", error!, field), "application/json", Encoding.UTF8, 400);
        }

        faults.Set(profile);
        return GetFaults(faults);
    }

    /// <summary>
    /// Runs a create or confirm that is about to execute (not a replay) under the fault profile: either
    /// an HTTP 500 before anything happens, or the work done and its answer lost, or just the work.
    /// </summary>
    internal static SimulatorResponse WithFaults(SimulatorFaults faults, Func<SimulatorResponse> execute)
    {
        var roll = faults.Roll();
        if (roll.Error)
        {
            return new SimulatorResponse(500, StripeJson.ErrorBody("api_error", null, "An error occurred with our connection to Stripe (PSP simulator fault: error_rate)."));
        }

        var response = execute();
        return roll.LoseResponse && response.StatusCode < 500 ? response with { LoseResponse = true } : response;
    }

    internal static SimulatorResponse InvalidRequest(string code, string message, string? param) =>
        new(400, StripeJson.ErrorBody("invalid_request_error", code, message, param));

    internal static SimulatorResponse NoSuchPaymentIntent(string id) =>
        new(404, StripeJson.ErrorBody("invalid_request_error", "resource_missing", $"No such payment_intent: '{id}'", "intent"));

    internal static SimulatorResponse IdempotencyMismatch(string key) =>
        new(400, StripeJson.ErrorBody(
            "idempotency_error",
            null,
            $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."));

    internal static async Task WriteAsync(HttpContext http, SimulatorResponse response, bool replayed = false)
    {
        if (response.LoseResponse)
        {
            // pm_sim_timeout_once or timeout_after_charge_rate: the charge is made and its answer kept
            // under the Idempotency-Key, but this answer never arrives: the connection is reset.
            http.Abort();
            return;
        }

        var headers = http.Response.Headers;
        if (IdempotencyKey(http.Request) is { } key)
        {
            headers[IdempotencyKeyHeader] = key;
        }

        if (replayed)
        {
            headers["Idempotent-Replayed"] = "true";
        }

        if (response.RetryAfterSeconds is { } retryAfter)
        {
            headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        }

        http.Response.StatusCode = response.StatusCode;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(response.Body, Encoding.UTF8).ConfigureAwait(false);
    }

    internal static string? IdempotencyKey(HttpRequest request) =>
        request.Headers[IdempotencyKeyHeader].ToString() is { Length: > 0 } key ? key : null;

    internal static string ApiBase(HttpRequest request) => $"{request.Scheme}://{request.Host}";

    /// <summary>What "the same request" means for an idempotency key: method, path and parameters.</summary>
    internal static string Fingerprint(HttpRequest request, FormParameters form) =>
        request.Method + " " + request.Path + "\n" + form.Canonical();

    internal static async Task<FormParameters> ReadFormAsync(HttpRequest request)
    {
        if (!request.HasFormContentType)
        {
            return new FormParameters([]);
        }

        var form = await request.ReadFormAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in form)
        {
            foreach (var value in values)
            {
                pairs.Add(new(name, value ?? string.Empty));
            }
        }

        return new FormParameters(pairs);
    }
}
