using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Payments.PspSimulator;

/// <summary>
/// <c>/v1/checkout/sessions</c>: Checkout Sessions in <c>payment</c> mode with inline <c>price_data</c>,
/// as Stripe.net creates them. The buyer pays on the hosted page (<see cref="HostedPages"/>).
/// </summary>
internal static class CheckoutSessionsApi
{
    /// <summary>How long a session stays open at Stripe by default (nothing expires it here).</summary>
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/checkout/sessions", CreateAsync);
        app.MapGet("/v1/checkout/sessions/{id}", GetAsync);
        app.MapPost("/v1/checkout/sessions/{id}/expire", ExpireAsync);
    }

    /// <summary>The shop closes an open page (say, after the payment on it failed), so that nobody pays on it any more.</summary>
    private static async Task ExpireAsync(HttpContext http, SimulatorStore store, SimulatorWebhooks webhooks, string id)
    {
        var form = await StripeApi.ReadFormAsync(http.Request).ConfigureAwait(false);
        var key = StripeApi.IdempotencyKey(http.Request);
        var (response, replayed) = await store.ExecuteIdempotentAsync(
            key,
            StripeApi.Fingerprint(http.Request, form),
            transaction => Expire(transaction, webhooks, id),
            () => StripeApi.IdempotencyMismatch(key!),
            http.RequestAborted).ConfigureAwait(false);
        await StripeApi.WriteAsync(http, response, replayed).ConfigureAwait(false);
    }

    private static SimulatorResponse Expire(SimulatorTransaction changes, SimulatorWebhooks webhooks, string id)
    {
        if (changes.FindSession(id) is not { } session)
        {
            return new SimulatorResponse(404, StripeJson.ErrorBody("invalid_request_error", "resource_missing", $"No such checkout.session: '{id}'", "session"));
        }

        if (session.Status == "complete")
        {
            return new SimulatorResponse(400, StripeJson.ErrorBody("invalid_request_error", "checkout_session_complete",
                "Only Checkout Sessions with a status of `open` can be expired.", "session"));
        }

        if (session.Status == "open")
        {
            session = session with { Status = "expired" };
            changes.SaveSession(session);
            webhooks.Raise(changes, "checkout.session.expired", StripeJson.CheckoutSession(session));
        }

        return new SimulatorResponse(200, StripeJson.Serialize(StripeJson.CheckoutSession(session)));
    }

    private static async Task CreateAsync(HttpContext http, SimulatorStore store, SimulatorFaults faults)
    {
        var form = await StripeApi.ReadFormAsync(http.Request).ConfigureAwait(false);
        var key = StripeApi.IdempotencyKey(http.Request);
        var apiBase = StripeApi.ApiBase(http.Request);
        var (response, replayed) = await store.ExecuteIdempotentAsync(
            key,
            StripeApi.Fingerprint(http.Request, form),
            transaction => StripeApi.WithFaults(faults, () => Create(transaction, form, key, apiBase)),
            () => StripeApi.IdempotencyMismatch(key!),
            http.RequestAborted).ConfigureAwait(false);
        await StripeApi.WriteAsync(http, response, replayed).ConfigureAwait(false);
    }

    private static Task GetAsync(HttpContext http, SimulatorStore store, string id)
    {
        var session = store.FindSession(id);
        if (session is null)
        {
            return StripeApi.WriteAsync(http, new SimulatorResponse(404, StripeJson.ErrorBody(
                "invalid_request_error", "resource_missing", $"No such checkout.session: '{id}'", "session")));
        }

        // Stripe.net asks for expansions in the query: expand[0]=payment_intent (or expand[]=...).
        var expandIntent = http.Request.Query
            .Where(q => q.Key == "expand" || q.Key.StartsWith("expand[", StringComparison.Ordinal))
            .SelectMany(q => q.Value)
            .Contains("payment_intent", StringComparer.Ordinal);
        var intent = expandIntent && session.PaymentIntent is { } intentId ? store.FindIntent(intentId) : null;
        var json = StripeJson.CheckoutSession(session, intent is null ? null : StripeJson.PaymentIntent(intent, StripeApi.ApiBase(http.Request)));
        return StripeApi.WriteAsync(http, new SimulatorResponse(200, StripeJson.Serialize(json)));
    }

    private static SimulatorResponse Create(SimulatorTransaction changes, FormParameters form, string? key, string apiBase)
    {
        var mode = form.Get("mode");
        if (string.IsNullOrEmpty(mode))
        {
            return StripeApi.InvalidRequest("parameter_missing", "Missing required param: mode.", "mode");
        }

        if (mode != "payment")
        {
            return StripeApi.InvalidRequest("parameter_invalid_string", $"The PSP simulator supports only mode=payment, not {mode}.", "mode");
        }

        var successUrl = form.Get("success_url");
        if (string.IsNullOrEmpty(successUrl))
        {
            return StripeApi.InvalidRequest("parameter_missing", "Missing required param: success_url.", "success_url");
        }

        if (!Uri.TryCreate(successUrl, UriKind.Absolute, out _))
        {
            return StripeApi.InvalidRequest("url_invalid", "Not a valid URL", "success_url");
        }

        var items = new List<SimulatedLineItem>();
        string? currency = null;
        for (var index = 0; HasLineItem(form, index); index++)
        {
            var error = ReadLineItem(form, index, out var item, out var itemCurrency);
            if (error is not null)
            {
                return error;
            }

            if (currency is not null && currency != itemCurrency)
            {
                return StripeApi.InvalidRequest(
                    "parameter_invalid_string",
                    "All line items must be in the same currency.",
                    $"line_items[{index}][price_data][currency]");
            }

            currency = itemCurrency;
            items.Add(item!);
        }

        if (items.Count == 0)
        {
            return StripeApi.InvalidRequest("parameter_missing", "Missing required param: line_items.", "line_items");
        }

        long total;
        try
        {
            total = checked(items.Sum(i => i.UnitAmount * i.Quantity));
        }
        catch (OverflowException)
        {
            return StripeApi.InvalidRequest("amount_too_large", "The total is too large.", "line_items");
        }

        if (total < 1)
        {
            return StripeApi.InvalidRequest("amount_too_small", "The total must be at least 1.", "line_items");
        }

        var id = SimulatorStore.NewId("cs_test");
        var created = DateTimeOffset.UtcNow;
        var session = new SimulatedCheckoutSession
        {
            Id = id,
            IdempotencyKey = key,
            Url = $"{apiBase}/_sim/checkout/{id}",
            Mode = mode,
            Status = "open",
            PaymentStatus = "unpaid",
            AmountTotal = total,
            Currency = currency!,
            LineItems = items,
            SuccessUrl = successUrl,
            CancelUrl = form.Get("cancel_url") is { Length: > 0 } cancelUrl ? cancelUrl : null,
            ClientReferenceId = form.Get("client_reference_id") is { Length: > 0 } reference ? reference : null,
            Metadata = form.Nested("metadata"),
            PaymentIntentMetadata = form.Nested("payment_intent_data[metadata]"),
            Created = created.ToUnixTimeSeconds(),
            ExpiresAt = (created + Lifetime).ToUnixTimeSeconds(),
        };
        changes.SaveSession(session);
        return new SimulatorResponse(200, StripeJson.Serialize(StripeJson.CheckoutSession(session)));
    }

    private static bool HasLineItem(FormParameters form, int index) =>
        form.HasPrefix($"line_items[{index}]");

    /// <summary>Reads <c>line_items[index]</c>; returns the error to answer, or null.</summary>
    private static SimulatorResponse? ReadLineItem(FormParameters form, int index, out SimulatedLineItem? item, out string? currency)
    {
        item = null;
        currency = null;
        var prefix = $"line_items[{index}]";
        if (form.Get(prefix + "[price]") is { Length: > 0 })
        {
            return StripeApi.InvalidRequest("parameter_invalid_string", "The PSP simulator supports only inline price_data, not price ids.", prefix + "[price]");
        }

        currency = form.Get(prefix + "[price_data][currency]");
        if (string.IsNullOrEmpty(currency))
        {
            return StripeApi.InvalidRequest("parameter_missing", $"Missing required param: {prefix}[price_data][currency].", prefix + "[price_data][currency]");
        }

        if (currency.Length != 3 || !currency.All(char.IsAsciiLetter))
        {
            return StripeApi.InvalidRequest("parameter_invalid_string", $"Invalid currency: {currency}.", prefix + "[price_data][currency]");
        }

        currency = currency.ToLowerInvariant();
        var unitAmountText = form.Get(prefix + "[price_data][unit_amount]");
        if (!long.TryParse(unitAmountText, NumberStyles.None, CultureInfo.InvariantCulture, out var unitAmount))
        {
            return StripeApi.InvalidRequest("parameter_invalid_integer", $"Invalid integer: {unitAmountText}", prefix + "[price_data][unit_amount]");
        }

        var name = form.Get(prefix + "[price_data][product_data][name]");
        if (string.IsNullOrEmpty(name))
        {
            return StripeApi.InvalidRequest("parameter_missing", $"Missing required param: {prefix}[price_data][product_data][name].", prefix + "[price_data][product_data][name]");
        }

        var quantityText = form.Get(prefix + "[quantity]");
        if (!long.TryParse(quantityText, NumberStyles.None, CultureInfo.InvariantCulture, out var quantity) || quantity < 1)
        {
            return StripeApi.InvalidRequest("parameter_invalid_integer", $"Invalid quantity: {quantityText}", prefix + "[quantity]");
        }

        item = new SimulatedLineItem(name, unitAmount, quantity);
        return null;
    }
}
