using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Payments.PspSimulator;

/// <summary>
/// <c>/v1/refunds</c>: refunds of a succeeded intent's charge, whole or in parts, never more than was
/// charged. They succeed at once and are announced with <c>charge.refunded</c> and <c>refund.updated</c>;
/// those of a <c>pm_card_refundFail</c> charge fail later (<see cref="DelayedOutcomes"/>).
/// </summary>
internal static class RefundsApi
{
    private static readonly string[] Reasons = ["duplicate", "fraudulent", "requested_by_customer"];

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/refunds", CreateAsync);
        app.MapGet("/v1/refunds", ListAsync);
        app.MapGet("/v1/refunds/{id}", GetAsync);
    }

    private static async Task CreateAsync(HttpContext http, SimulatorStore store, SimulatorFaults faults, SimulatorWebhooks webhooks)
    {
        var form = await StripeApi.ReadFormAsync(http.Request).ConfigureAwait(false);
        var key = StripeApi.IdempotencyKey(http.Request);
        // A PSP that has forgotten the key (Stripe: after 24 h) runs the request as new.
        var (response, replayed) = await store.ExecuteIdempotentAsync(
            faults.Current.ForgetIdempotencyKeys ? null : key,
            StripeApi.Fingerprint(http.Request, form),
            transaction => StripeApi.WithFaults(faults, () => Create(transaction, webhooks, form, key)),
            () => StripeApi.IdempotencyMismatch(key!),
            http.RequestAborted).ConfigureAwait(false);
        await StripeApi.WriteAsync(http, response, replayed).ConfigureAwait(false);
    }

    /// <summary>
    /// Stripe's refund list, filtered by <c>payment_intent</c> (the one filter we use), newest first: how a refund is found
    /// when its idempotency key may be too old for the PSP to remember.
    /// </summary>
    private static Task ListAsync(HttpContext http, SimulatorStore store)
    {
        var paymentIntent = http.Request.Query["payment_intent"].ToString();
        var data = new System.Text.Json.Nodes.JsonArray();
        foreach (var refund in store.ListRefunds().Where(refund => paymentIntent.Length == 0 || refund.PaymentIntent == paymentIntent).Reverse())
        {
            data.Add(StripeJson.Refund(refund));
        }

        var list = new System.Text.Json.Nodes.JsonObject
        {
            ["object"] = "list",
            ["url"] = "/v1/refunds",
            ["has_more"] = false,
            ["data"] = data,
        };
        return StripeApi.WriteAsync(http, new SimulatorResponse(200, StripeJson.Serialize(list)));
    }

    private static Task GetAsync(HttpContext http, SimulatorStore store, string id) =>
        StripeApi.WriteAsync(http, store.FindRefund(id) is { } refund
            ? new SimulatorResponse(200, StripeJson.Serialize(StripeJson.Refund(refund)))
            : new SimulatorResponse(404, StripeJson.ErrorBody("invalid_request_error", "resource_missing", $"No such refund: '{id}'", "id")));

    private static SimulatorResponse Create(SimulatorTransaction changes, SimulatorWebhooks webhooks, FormParameters form, string? key)
    {
        var intentId = form.Get("payment_intent");
        var chargeId = form.Get("charge");
        SimulatedPaymentIntent? intent;
        if (!string.IsNullOrEmpty(intentId))
        {
            intent = changes.FindIntent(intentId);
            if (intent is null)
            {
                return StripeApi.InvalidRequest("resource_missing", $"No such payment_intent: '{intentId}'", "payment_intent");
            }
        }
        else if (!string.IsNullOrEmpty(chargeId))
        {
            intent = changes.FindIntentByCharge(chargeId);
            if (intent is null)
            {
                return StripeApi.InvalidRequest("resource_missing", $"No such charge: '{chargeId}'", "charge");
            }
        }
        else
        {
            return StripeApi.InvalidRequest("parameter_missing", "One of the following params should be provided for this request: payment_intent or charge.", "payment_intent");
        }

        if (intent.Status != "succeeded")
        {
            return StripeApi.InvalidRequest(
                "payment_intent_unexpected_state",
                $"This PaymentIntent ({intent.Id}) does not have a successful charge to refund: its status is {intent.Status}.",
                "payment_intent");
        }

        var remaining = intent.AmountReceived - intent.AmountRefunded;
        if (remaining <= 0)
        {
            return StripeApi.InvalidRequest("charge_already_refunded", $"Charge {intent.LatestCharge} has already been refunded.", null);
        }

        var amount = remaining;
        if (form.Get("amount") is { Length: > 0 } amountText)
        {
            if (!long.TryParse(amountText, NumberStyles.None, CultureInfo.InvariantCulture, out amount))
            {
                return StripeApi.InvalidRequest("parameter_invalid_integer", $"Invalid integer: {amountText}", "amount");
            }

            if (amount < 1)
            {
                return StripeApi.InvalidRequest("amount_too_small", "Refund amount must be at least 1.", "amount");
            }

            if (amount > remaining)
            {
                return StripeApi.InvalidRequest(
                    "amount_too_large",
                    $"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining}).",
                    "amount");
            }
        }

        var reason = form.Get("reason") is { Length: > 0 } given ? given : null;
        if (reason is not null && !Reasons.Contains(reason, StringComparer.Ordinal))
        {
            return StripeApi.InvalidRequest("parameter_invalid_string", $"Invalid reason: must be one of {string.Join(", ", Reasons)}.", "reason");
        }

        var refund = new SimulatedRefund
        {
            Id = SimulatorStore.NewId("re"),
            IdempotencyKey = key,
            PaymentIntent = intent.Id,
            Charge = intent.LatestCharge,
            Amount = amount,
            Currency = intent.Currency,
            Status = "succeeded",
            Reason = reason,
            Metadata = form.Nested("metadata"),
            Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            FailingSince = TestPaymentMethods.TryGetBehavior(intent.PaymentMethod ?? string.Empty, out var behavior) && behavior == TestCardBehavior.RefundsFail
                ? DateTimeOffset.UtcNow
                : null,
        };
        var refunded = intent with { AmountRefunded = intent.AmountRefunded + amount };
        changes.SaveIntent(refunded);
        changes.SaveRefund(refund);
        webhooks.Raise(changes, "charge.refunded", StripeJson.Charge(refunded));
        webhooks.Raise(changes, "refund.updated", StripeJson.Refund(refund));
        return new SimulatorResponse(200, StripeJson.Serialize(StripeJson.Refund(refund)));
    }

    /// <summary>
    /// Turns a succeeded refund into a failed one, as a bank does when the card it went back to is closed: the money
    /// stays with the merchant, the charge counts it as unrefunded again, and <c>refund.failed</c> says so.
    /// </summary>
    public static void Fail(SimulatorTransaction changes, SimulatorWebhooks webhooks, SimulatedRefund refund)
    {
        var failed = refund with { Status = "failed", FailureReason = "expired_or_canceled_card", FailingSince = null };
        changes.SaveRefund(failed);
        if (changes.FindIntent(refund.PaymentIntent) is { } intent)
        {
            changes.SaveIntent(intent with { AmountRefunded = intent.AmountRefunded - refund.Amount });
        }

        webhooks.Raise(changes, "refund.failed", StripeJson.Refund(failed));
    }
}
