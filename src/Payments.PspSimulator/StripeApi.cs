using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Payments.PspSimulator;

/// <summary>The simulated Stripe endpoints (<c>/v1/...</c>) and the test-only ones (<c>/_sim/...</c>).</summary>
internal static class StripeApi
{
    private const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>How long a <c>pm_sim_timeout_once</c> answer is held before the connection is dropped.</summary>
    private static readonly TimeSpan LostResponseHold = TimeSpan.FromMinutes(2);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/payment_intents", CreatePaymentIntentAsync);
        app.MapGet("/v1/payment_intents/{id}", GetPaymentIntentAsync);
        app.MapPost("/v1/payment_intents/{id}/confirm", ConfirmPaymentIntentAsync);
        app.MapGet("/_sim/payment_intents", ListSimulatedIntents);
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

    private static async Task CreatePaymentIntentAsync(HttpContext http, SimulatorStore store)
    {
        var form = await ReadFormAsync(http.Request).ConfigureAwait(false);
        var key = IdempotencyKey(http.Request);
        var apiBase = ApiBase(http.Request);
        var (response, replayed) = await store.ExecuteIdempotentAsync(
            key,
            Fingerprint(http.Request, form),
            () => CreatePaymentIntent(store, form, key, apiBase),
            () => IdempotencyMismatch(key!),
            http.RequestAborted).ConfigureAwait(false);
        await WriteAsync(http, response, replayed).ConfigureAwait(false);
    }

    private static async Task ConfirmPaymentIntentAsync(HttpContext http, SimulatorStore store, string id)
    {
        var form = await ReadFormAsync(http.Request).ConfigureAwait(false);
        var key = IdempotencyKey(http.Request);
        var apiBase = ApiBase(http.Request);
        var (response, replayed) = await store.ExecuteIdempotentAsync(
            key,
            Fingerprint(http.Request, form),
            () => ConfirmPaymentIntent(store, id, form, key, apiBase),
            () => IdempotencyMismatch(key!),
            http.RequestAborted).ConfigureAwait(false);
        await WriteAsync(http, response, replayed).ConfigureAwait(false);
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
            var metadata = new JsonObject();
            foreach (var (key, value) in intent.Metadata)
            {
                metadata[key] = value;
            }

            list.Add(new JsonObject
            {
                ["id"] = intent.Id,
                ["idempotency_key"] = intent.IdempotencyKey,
                ["amount"] = intent.Amount,
                ["currency"] = intent.Currency,
                ["status"] = intent.Status,
                ["metadata"] = metadata,
            });
        }

        return Results.Content(StripeJson.Serialize(list), "application/json", Encoding.UTF8);
    }

    private static SimulatorResponse CreatePaymentIntent(SimulatorStore store, FormParameters form, string? key, string apiBase)
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
        };
        intent = intent with { ClientSecret = intent.Id + "_secret_" + SimulatorStore.NewId("cs")[3..] };

        if (!confirm)
        {
            store.SaveIntent(intent);
            return new SimulatorResponse(200, StripeJson.Serialize(StripeJson.PaymentIntent(intent, apiBase)));
        }

        return Confirm(store, intent, paymentMethod!, key ?? intent.Metadata.GetValueOrDefault("payment_order_id") ?? intent.Id, apiBase);
    }

    private static SimulatorResponse ConfirmPaymentIntent(SimulatorStore store, string id, FormParameters form, string? key, string apiBase)
    {
        var intent = store.FindIntent(id);
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

        return Confirm(store, intent with { PaymentMethod = paymentMethod }, paymentMethod, key ?? intent.Id, apiBase);
    }

    /// <summary>Confirms <paramref name="intent"/> with a known test payment method and saves the result.</summary>
    private static SimulatorResponse Confirm(SimulatorStore store, SimulatedPaymentIntent intent, string paymentMethod, string attemptKey, string apiBase)
    {
        TestPaymentMethods.TryGetBehavior(paymentMethod, out var behavior);

        if (behavior == TestCardBehavior.UnavailableTwice && store.IncrementAttempts("unavailable:" + attemptKey) <= 2)
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
                store.SaveIntent(failed);
                return new SimulatorResponse(402, StripeJson.CardErrorBody(error, StripeJson.PaymentIntent(failed, apiBase)));

            case TestCardBehavior.RequiresAction:
                return Saved(store, intent with { Status = "requires_action", LastPaymentError = null }, apiBase);

            case TestCardBehavior.Processing:
                return Saved(store, intent with { Status = "processing", LatestCharge = charge, LastPaymentError = null }, apiBase);

            default:
                var response = Saved(
                    store,
                    intent with { Status = "succeeded", LatestCharge = charge, AmountReceived = intent.Amount, LastPaymentError = null },
                    apiBase);
                return behavior == TestCardBehavior.TimeoutOnce && store.IncrementAttempts("timeout:" + attemptKey) == 1
                    ? response with { LoseResponse = true }
                    : response;
        }
    }

    private static SimulatorResponse Saved(SimulatorStore store, SimulatedPaymentIntent intent, string apiBase)
    {
        store.SaveIntent(intent);
        return new SimulatorResponse(200, StripeJson.Serialize(StripeJson.PaymentIntent(intent, apiBase)));
    }

    private static SimulatorResponse InvalidRequest(string code, string message, string? param) =>
        new(400, StripeJson.ErrorBody("invalid_request_error", code, message, param));

    private static SimulatorResponse NoSuchPaymentMethod(string token) =>
        new(400, StripeJson.ErrorBody("invalid_request_error", "resource_missing", $"No such PaymentMethod: '{token}'", "payment_method"));

    private static SimulatorResponse NoSuchPaymentIntent(string id) =>
        new(404, StripeJson.ErrorBody("invalid_request_error", "resource_missing", $"No such payment_intent: '{id}'", "intent"));

    private static SimulatorResponse IdempotencyMismatch(string key) =>
        new(400, StripeJson.ErrorBody(
            "idempotency_error",
            null,
            $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."));

    private static async Task WriteAsync(HttpContext http, SimulatorResponse response, bool replayed = false)
    {
        if (response.LoseResponse)
        {
            // pm_sim_timeout_once: the charge is made and stored; this answer never arrives. Hold it
            // until the caller gives up (its timeout), then drop the connection.
            try
            {
                await Task.Delay(LostResponseHold, http.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

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

    private static string? IdempotencyKey(HttpRequest request) =>
        request.Headers[IdempotencyKeyHeader].ToString() is { Length: > 0 } key ? key : null;

    private static string ApiBase(HttpRequest request) => $"{request.Scheme}://{request.Host}";

    /// <summary>What "the same request" means for an idempotency key: method, path and parameters.</summary>
    private static string Fingerprint(HttpRequest request, FormParameters form) =>
        request.Method + " " + request.Path + "\n" + form.Canonical();

    private static async Task<FormParameters> ReadFormAsync(HttpRequest request)
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
