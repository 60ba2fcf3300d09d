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

/// <summary>The simulated Stripe endpoints (<c>/v1/...</c>) and the test-only ones (<c>/_sim/...</c>).</summary>
internal static class StripeApi
{
    private const string IdempotencyKeyHeader = "Idempotency-Key";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/payment_intents", CreatePaymentIntentAsync);
        app.MapGet("/v1/payment_intents/search", SearchPaymentIntentsAsync);
        app.MapGet("/v1/payment_intents/{id}", GetPaymentIntentAsync);
        app.MapPost("/v1/payment_intents/{id}/confirm", ConfirmPaymentIntentAsync);
        PaymentIntents.PaymentIntentCancellation.Map(app);
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

    /// <summary>Saves <paramref name="intent"/> and records the <paramref name="eventType"/> event that reports it.</summary>
    internal static void SaveAndAnnounce(SimulatorTransaction changes, SimulatorWebhooks webhooks, SimulatedPaymentIntent intent, string eventType, string? apiBase)
    {
        changes.SaveIntent(intent);
        webhooks.Raise(changes, eventType, StripeJson.PaymentIntent(intent, apiBase));
    }

    /// <summary><paramref name="intent"/> charged in full (its charge made now unless it has one already).</summary>
    internal static SimulatedPaymentIntent Succeeded(SimulatedPaymentIntent intent) => intent with
    {
        Status = "succeeded",
        LatestCharge = intent.LatestCharge ?? SimulatorStore.NewId("ch"),
        AmountReceived = intent.Amount,
        LastPaymentError = null,
        ProcessingSince = null,
    };

    private static async Task CreatePaymentIntentAsync(HttpContext http, SimulatorStore store, SimulatorFaults faults, SimulatorWebhooks webhooks)
    {
        var form = await ReadFormAsync(http.Request).ConfigureAwait(false);
        var key = IdempotencyKey(http.Request);
        var scope = new ConfirmScope(ApiBase(http.Request), webhooks);
        // A PSP that has forgotten the key (Stripe: after 24 h) runs the request as new.
        var (response, replayed) = await store.ExecuteIdempotentAsync(
            faults.Current.ForgetIdempotencyKeys ? null : key,
            Fingerprint(http.Request, form),
            transaction => WithFaults(faults, () => CreatePaymentIntent(transaction, form, key, scope)),
            () => IdempotencyMismatch(key!),
            http.RequestAborted).ConfigureAwait(false);
        await WriteAsync(http, response, replayed).ConfigureAwait(false);
    }

    private static async Task ConfirmPaymentIntentAsync(
        HttpContext http,
        SimulatorStore store,
        SimulatorFaults faults,
        SimulatorWebhooks webhooks,
        string id)
    {
        var form = await ReadFormAsync(http.Request).ConfigureAwait(false);
        var key = IdempotencyKey(http.Request);
        var scope = new ConfirmScope(ApiBase(http.Request), webhooks);
        var (response, replayed) = await store.ExecuteIdempotentAsync(
            key,
            Fingerprint(http.Request, form),
            transaction => WithFaults(faults, () => ConfirmPaymentIntent(transaction, id, form, key, scope)),
            () => IdempotencyMismatch(key!),
            http.RequestAborted).ConfigureAwait(false);
        await WriteAsync(http, response, replayed).ConfigureAwait(false);
    }

    /// <summary>
    /// Stripe's search, for the one query we make: <c>metadata['key']:'value'</c>. Found how a charge ended when its
    /// idempotency key may be too old for the PSP to remember.
    /// </summary>
    private static Task SearchPaymentIntentsAsync(HttpContext http, SimulatorStore store)
    {
        var query = http.Request.Query["query"].ToString();
        var match = System.Text.RegularExpressions.Regex.Match(query, @"^metadata\['([A-Za-z0-9_]+)'\]:'([^']*)'$");
        if (!match.Success)
        {
            return WriteAsync(http, new SimulatorResponse(400, StripeJson.ErrorBody("invalid_request_error", "parameter_invalid_string",
                "The simulator searches only by metadata['key']:'value'.", "query")));
        }

        var (key, value) = (match.Groups[1].Value, match.Groups[2].Value);
        var apiBase = ApiBase(http.Request);
        var data = new JsonArray();
        foreach (var intent in store.ListIntents().Where(intent => intent.Metadata.TryGetValue(key, out var found) && found == value))
        {
            data.Add(StripeJson.PaymentIntent(intent, apiBase));
        }

        var result = new JsonObject
        {
            ["object"] = "search_result",
            ["url"] = "/v1/payment_intents/search",
            ["has_more"] = false,
            ["next_page"] = null,
            ["data"] = data,
        };
        return WriteAsync(http, new SimulatorResponse(200, StripeJson.Serialize(result)));
    }

    private static Task GetPaymentIntentAsync(HttpContext http, SimulatorStore store, string id)
    {
        var intent = store.FindIntent(id);
        var response = intent is null
            ? NoSuchPaymentIntent(id)
            : new SimulatorResponse(200, StripeJson.Serialize(StripeJson.PaymentIntent(intent, ApiBase(http.Request))));
        return WriteAsync(http, response);
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

    private static SimulatorResponse CreatePaymentIntent(SimulatorTransaction changes, FormParameters form, string? key, ConfirmScope scope)
    {
        var amountText = form.Get("amount");
        if (string.IsNullOrEmpty(amountText))
        {
            return InvalidRequest("parameter_missing", "Missing required param: amount.", "amount");
        }

        if (!long.TryParse(amountText, NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return InvalidRequest("parameter_invalid_integer", $"Invalid integer: {amountText}", "amount");
        }

        if (amount < 1)
        {
            return InvalidRequest("amount_too_small", "Amount must be at least 1.", "amount");
        }

        var currency = form.Get("currency");
        if (string.IsNullOrEmpty(currency))
        {
            return InvalidRequest("parameter_missing", "Missing required param: currency.", "currency");
        }

        if (currency.Length != 3 || !currency.All(char.IsAsciiLetter))
        {
            return InvalidRequest("parameter_invalid_string", $"Invalid currency: {currency}.", "currency");
        }

        var paymentMethod = form.Get("payment_method");
        if (!string.IsNullOrEmpty(paymentMethod) && !TestPaymentMethods.TryGetBehavior(paymentMethod, out _))
        {
            return NoSuchPaymentMethod(paymentMethod);
        }

        var confirm = form.Get("confirm") == "true";
        if (confirm && string.IsNullOrEmpty(paymentMethod))
        {
            return InvalidRequest(
                "payment_intent_unexpected_state",
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                "payment_method");
        }

        var types = form.Indexed("allowed_payment_method_types");
        if (types.Count == 0)
        {
            types = form.Indexed("payment_method_types");
        }

        var intent = new SimulatedPaymentIntent
        {
            Id = SimulatorStore.NewId("pi"),
            ClientSecret = string.Empty,
            IdempotencyKey = key,
            Amount = amount,
            Currency = currency.ToLowerInvariant(),
            Status = string.IsNullOrEmpty(paymentMethod) ? "requires_payment_method" : "requires_confirmation",
            PaymentMethod = string.IsNullOrEmpty(paymentMethod) ? null : paymentMethod,
            Description = form.Get("description"),
            PaymentMethodTypes = types.Count == 0 ? ["card"] : types,
            Metadata = form.Nested("metadata"),
            Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ReturnUrl = form.Get("return_url") is { Length: > 0 } returnUrl ? returnUrl : null,
        };
        intent = intent with { ClientSecret = intent.Id + "_secret_" + SimulatorStore.NewId("cs")[3..] };

        if (!confirm)
        {
            changes.SaveIntent(intent);
            return new SimulatorResponse(200, StripeJson.Serialize(StripeJson.PaymentIntent(intent, scope.ApiBase)));
        }

        return Confirm(changes, intent, paymentMethod!, key ?? intent.Metadata.GetValueOrDefault("payment_order_id") ?? intent.Id, scope);
    }

    private static SimulatorResponse ConfirmPaymentIntent(SimulatorTransaction changes, string id, FormParameters form, string? key, ConfirmScope scope)
    {
        var intent = changes.FindIntent(id);
        if (intent is null)
        {
            return NoSuchPaymentIntent(id);
        }

        if (intent.Status is not ("requires_payment_method" or "requires_confirmation"))
        {
            return InvalidRequest(
                "payment_intent_unexpected_state",
                $"You cannot confirm this PaymentIntent because it has a status of {intent.Status}.",
                null);
        }

        var paymentMethod = form.Get("payment_method") is { Length: > 0 } given ? given : intent.PaymentMethod;
        if (string.IsNullOrEmpty(paymentMethod))
        {
            return InvalidRequest(
                "payment_intent_unexpected_state",
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                "payment_method");
        }

        if (!TestPaymentMethods.TryGetBehavior(paymentMethod, out _))
        {
            return NoSuchPaymentMethod(paymentMethod);
        }

        var returnUrl = form.Get("return_url") is { Length: > 0 } returnTo ? returnTo : intent.ReturnUrl;
        return Confirm(changes, intent with { PaymentMethod = paymentMethod, ReturnUrl = returnUrl }, paymentMethod, key ?? intent.Id, scope);
    }

    /// <summary>
    /// Confirms <paramref name="intent"/> with a known test payment method and saves the result, with
    /// the event that reports it (none for <c>processing</c>: its event comes when it succeeds).
    /// </summary>
    private static SimulatorResponse Confirm(SimulatorTransaction changes, SimulatedPaymentIntent intent, string paymentMethod, string attemptKey, ConfirmScope scope)
    {
        var apiBase = scope.ApiBase;
        TestPaymentMethods.TryGetBehavior(paymentMethod, out var behavior);

        if (behavior == TestCardBehavior.UnavailableTwice && changes.IncrementAttempts("unavailable:" + attemptKey) <= 2)
        {
            // Nothing happened: like a Stripe 5xx, the result is not stored and no intent is saved.
            return new SimulatorResponse(
                503,
                StripeJson.ErrorBody("api_error", null, "The PSP simulator is temporarily unavailable (pm_sim_unavailable_twice)."),
                RetryAfterSeconds: 1);
        }

        var charge = SimulatorStore.NewId("ch");
        switch (behavior)
        {
            case TestCardBehavior.Declined:
            case TestCardBehavior.DeclinedInsufficientFunds:
                var error = behavior == TestCardBehavior.Declined
                    ? new SimulatedCardError("card_declined", "generic_decline", "Your card was declined.", charge)
                    : new SimulatedCardError("card_declined", "insufficient_funds", "Your card has insufficient funds.", charge);
                var failed = intent with { Status = "requires_payment_method", LatestCharge = charge, LastPaymentError = error };
                SaveAndAnnounce(changes, scope.Webhooks, failed, "payment_intent.payment_failed", apiBase);
                return new SimulatorResponse(402, StripeJson.CardErrorBody(error, StripeJson.PaymentIntent(failed, apiBase)));

            case TestCardBehavior.RequiresAction:
                var requiresAction = intent with { Status = "requires_action", LastPaymentError = null };
                SaveAndAnnounce(changes, scope.Webhooks, requiresAction, "payment_intent.requires_action", apiBase);
                return Answer(requiresAction, apiBase);

            case TestCardBehavior.Processing:
                var processing = intent with
                {
                    Status = "processing",
                    LatestCharge = charge,
                    LastPaymentError = null,
                    ProcessingSince = DateTimeOffset.UtcNow,
                };
                changes.SaveIntent(processing);
                return Answer(processing, apiBase);

            default:
                var succeeded = Succeeded(intent with { LatestCharge = charge });
                SaveAndAnnounce(changes, scope.Webhooks, succeeded, "payment_intent.succeeded", apiBase);
                var response = Answer(succeeded, apiBase);
                return behavior == TestCardBehavior.TimeoutOnce && changes.IncrementAttempts("timeout:" + attemptKey) == 1
                    ? response with { LoseResponse = true }
                    : response;
        }
    }

    private static SimulatorResponse Answer(SimulatedPaymentIntent intent, string apiBase) =>
        new(200, StripeJson.Serialize(StripeJson.PaymentIntent(intent, apiBase)));

    internal static SimulatorResponse InvalidRequest(string code, string message, string? param) =>
        new(400, StripeJson.ErrorBody("invalid_request_error", code, message, param));

    private static SimulatorResponse NoSuchPaymentMethod(string token) =>
        new(400, StripeJson.ErrorBody("invalid_request_error", "resource_missing", $"No such PaymentMethod: '{token}'", "payment_method"));

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

    /// <summary>What a confirm needs besides the request: where the simulator is, and how to announce.</summary>
    private sealed record ConfirmScope(string ApiBase, SimulatorWebhooks Webhooks);
}
