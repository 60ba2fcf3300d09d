using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Payments.PspSimulator;

/// <summary>Stripe's JSON shapes for the simulator's answers.</summary>
public static class StripeJson
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static JsonObject PaymentIntent(SimulatedPaymentIntent intent, string? apiBase = null)
    {
        ArgumentNullException.ThrowIfNull(intent);
        var metadata = new JsonObject();
        foreach (var (key, value) in intent.Metadata)
        {
            metadata[key] = value;
        }

        JsonNode? nextAction = null;
        if (intent.Status == "requires_action")
        {
            nextAction = new JsonObject
            {
                ["type"] = "redirect_to_url",
                ["redirect_to_url"] = new JsonObject
                {
                    ["return_url"] = null,
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
            ["canceled_at"] = null,
            ["cancellation_reason"] = null,
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
