using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Payments.PspSimulator;

/// <summary>Stripe's JSON shapes for the simulator's answers.</summary>
public static class StripeJson
{
    /// <summary>
    /// The API version events are stamped with: Stripe.net 53.1.0's <c>StripeConfiguration.ApiVersion</c>.
    /// <c>EventUtility.ConstructEvent</c> refuses an event of another release ("endive") by default.
    /// </summary>
    public const string ApiVersion = "2026-10-28.endive";

    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static JsonObject PaymentIntent(SimulatedPaymentIntent intent, string? apiBase = null)
    {
        ArgumentNullException.ThrowIfNull(intent);
        var metadata = Metadata(intent.Metadata);

        JsonNode? nextAction = null;
        if (intent.Status == "requires_action")
        {
            nextAction = new JsonObject
            {
                ["type"] = "redirect_to_url",
                ["redirect_to_url"] = new JsonObject
                {
                    ["return_url"] = intent.ReturnUrl,
                    ["url"] = $"{apiBase}/_sim/authenticate/{intent.Id}",
                },
            };
        }

        return new JsonObject
        {
            ["id"] = intent.Id,
            ["object"] = "payment_intent",
            ["amount"] = intent.Amount,
            ["amount_capturable"] = 0,
            ["amount_received"] = intent.AmountReceived,
            ["application"] = null,
            ["application_fee_amount"] = null,
            ["automatic_payment_methods"] = null,
            ["canceled_at"] = intent.CanceledAt,
            ["cancellation_reason"] = intent.CancellationReason,
            ["capture_method"] = "automatic",
            ["client_secret"] = intent.ClientSecret,
            ["confirmation_method"] = "automatic",
            ["created"] = intent.Created,
            ["currency"] = intent.Currency,
            ["customer"] = null,
            ["description"] = intent.Description,
            ["last_payment_error"] = intent.LastPaymentError is { } error ? CardError(error, paymentIntent: null) : null,
            ["latest_charge"] = intent.LatestCharge,
            ["livemode"] = false,
            ["metadata"] = metadata,
            ["next_action"] = nextAction,
            ["on_behalf_of"] = null,
            ["payment_method"] = intent.PaymentMethod,
            ["payment_method_types"] = new JsonArray(intent.PaymentMethodTypes.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["processing"] = null,
            ["receipt_email"] = null,
            ["setup_future_usage"] = null,
            ["shipping"] = null,
            ["statement_descriptor"] = null,
            ["statement_descriptor_suffix"] = null,
            ["status"] = intent.Status,
            ["transfer_data"] = null,
            ["transfer_group"] = null,
        };
    }

    /// <summary>
    /// A <c>checkout.session</c>. <paramref name="paymentIntent"/> is the expanded intent
    /// (<c>expand[]=payment_intent</c>); without it the intent is its id. Like Stripe, <c>url</c> is
    /// null once the session is no longer open.
    /// </summary>
    public static JsonObject CheckoutSession(SimulatedCheckoutSession session, JsonObject? paymentIntent = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new JsonObject
        {
            ["id"] = session.Id,
            ["object"] = "checkout.session",
            ["after_expiration"] = null,
            ["allow_promotion_codes"] = null,
            ["amount_subtotal"] = session.AmountTotal,
            ["amount_total"] = session.AmountTotal,
            ["billing_address_collection"] = null,
            ["cancel_url"] = session.CancelUrl,
            ["client_reference_id"] = session.ClientReferenceId,
            ["client_secret"] = null,
            ["created"] = session.Created,
            ["currency"] = session.Currency,
            ["customer"] = null,
            ["customer_email"] = null,
            ["expires_at"] = session.ExpiresAt,
            ["livemode"] = false,
            ["locale"] = null,
            ["metadata"] = Metadata(session.Metadata),
            ["mode"] = session.Mode,
            ["payment_intent"] = paymentIntent ?? (JsonNode?)session.PaymentIntent,
            ["payment_method_types"] = new JsonArray("card"),
            ["payment_status"] = session.PaymentStatus,
            ["status"] = session.Status,
            ["success_url"] = session.SuccessUrl,
            ["ui_mode"] = "hosted",
            ["url"] = session.Status == "open" ? session.Url : null,
        };
    }

    public static JsonObject Refund(SimulatedRefund refund)
    {
        ArgumentNullException.ThrowIfNull(refund);
        return new JsonObject
        {
            ["id"] = refund.Id,
            ["object"] = "refund",
            ["amount"] = refund.Amount,
            ["balance_transaction"] = null,
            ["charge"] = refund.Charge,
            ["created"] = refund.Created,
            ["currency"] = refund.Currency,
            ["failure_reason"] = refund.FailureReason,
            ["metadata"] = Metadata(refund.Metadata),
            ["payment_intent"] = refund.PaymentIntent,
            ["reason"] = refund.Reason,
            ["receipt_number"] = null,
            ["status"] = refund.Status,
        };
    }

    /// <summary>The (one) charge of a succeeded intent, as <c>charge.refunded</c> carries it.</summary>
    public static JsonObject Charge(SimulatedPaymentIntent intent)
    {
        ArgumentNullException.ThrowIfNull(intent);
        return new JsonObject
        {
            ["id"] = intent.LatestCharge,
            ["object"] = "charge",
            ["amount"] = intent.Amount,
            ["amount_captured"] = intent.AmountReceived,
            ["amount_refunded"] = intent.AmountRefunded,
            ["balance_transaction"] = null,
            ["captured"] = true,
            ["created"] = intent.Created,
            ["currency"] = intent.Currency,
            ["description"] = intent.Description,
            ["livemode"] = false,
            ["metadata"] = Metadata(intent.Metadata),
            ["paid"] = true,
            ["payment_intent"] = intent.Id,
            ["payment_method"] = intent.PaymentMethod,
            ["refunded"] = intent.AmountRefunded >= intent.Amount,
            ["status"] = "succeeded",
        };
    }

    /// <summary>A Stripe event object around <paramref name="dataObject"/>, as webhooks carry it.</summary>
    public static JsonObject Event(string id, string type, long created, JsonObject dataObject) => new()
    {
        ["id"] = id,
        ["object"] = "event",
        ["api_version"] = ApiVersion,
        ["created"] = created,
        ["data"] = new JsonObject { ["object"] = dataObject },
        ["livemode"] = false,
        ["pending_webhooks"] = 1,
        ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
        ["type"] = type,
    };

    /// <summary>The body of a card error: HTTP 402 <c>{"error": {...}}</c>.</summary>
    public static string CardErrorBody(SimulatedCardError error, JsonObject paymentIntent) =>
        Serialize(new JsonObject { ["error"] = CardError(error, paymentIntent) });

    /// <summary>The body of any other error: <c>{"error": {"type", "code", "message", "param"}}</c>.</summary>
    public static string ErrorBody(string type, string? code, string message, string? param = null)
    {
        var error = new JsonObject { ["type"] = type };
        if (code is not null)
        {
            error["code"] = code;
            error["doc_url"] = $"https://stripe.com/docs/error-codes/{code.Replace('_', '-')}";
        }

        error["message"] = message;
        if (param is not null)
        {
            error["param"] = param;
        }

        return Serialize(new JsonObject { ["error"] = error });
    }

    public static string Serialize(JsonNode node) => node.ToJsonString(Indented);

    /// <summary>Stripe's <c>metadata</c> object of a resource.</summary>
    public static JsonObject Metadata(IReadOnlyDictionary<string, string> values)
    {
        var metadata = new JsonObject();
        foreach (var (key, value) in values)
        {
            metadata[key] = value;
        }

        return metadata;
    }

    private static JsonObject CardError(SimulatedCardError error, JsonObject? paymentIntent)
    {
        var json = new JsonObject
        {
            ["type"] = "card_error",
            ["code"] = error.Code,
            ["decline_code"] = error.DeclineCode,
            ["doc_url"] = $"https://stripe.com/docs/error-codes/{error.Code.Replace('_', '-')}",
            ["message"] = error.Message,
            ["charge"] = error.Charge,
        };
        if (paymentIntent is not null)
        {
            json["payment_intent"] = paymentIntent;
        }

        return json;
    }
}
