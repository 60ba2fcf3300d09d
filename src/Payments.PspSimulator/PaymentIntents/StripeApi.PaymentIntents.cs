using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Payments.PspSimulator;

/// <summary>Payment intents: create (and confirm), confirm, retrieve and Stripe's metadata search; cancel and list map beside them.</summary>
internal static partial class StripeApi
{
    private static void MapPaymentIntents(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/payment_intents", CreatePaymentIntentAsync);
        app.MapGet("/v1/payment_intents/search", SearchPaymentIntentsAsync);
        app.MapGet("/v1/payment_intents/{id}", GetPaymentIntentAsync);
        app.MapPost("/v1/payment_intents/{id}/confirm", ConfirmPaymentIntentAsync);
        PaymentIntents.PaymentIntentCancellation.Map(app);
        PaymentIntents.PaymentIntentListing.Map(app);
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

    private static SimulatorResponse NoSuchPaymentMethod(string token) =>
        new(400, StripeJson.ErrorBody("invalid_request_error", "resource_missing", $"No such PaymentMethod: '{token}'", "payment_method"));

    /// <summary>What a confirm needs besides the request: where the simulator is, and how to announce.</summary>
    private sealed record ConfirmScope(string ApiBase, SimulatorWebhooks Webhooks);
}
