using System.Text.Json.Nodes;

namespace Payments.PspSimulator.Payouts;

/// <summary>Stripe's JSON shape of a payout, as Stripe.net reads it into <c>Stripe.Payout</c>.</summary>
internal static class PayoutJson
{
    public static JsonObject Payout(SimulatedPayout payout)
    {
        ArgumentNullException.ThrowIfNull(payout);
        var metadata = StripeJson.Metadata(payout.Metadata);

        return new JsonObject
        {
            ["id"] = payout.Id,
            ["object"] = "payout",
            ["amount"] = payout.Amount,
            ["application_fee"] = null,
            ["application_fee_amount"] = null,
            ["arrival_date"] = payout.ArrivalDate,
            ["automatic"] = false,
            ["balance_transaction"] = null,
            ["created"] = payout.Created,
            ["currency"] = payout.Currency,
            ["description"] = null,
            ["destination"] = payout.Destination,
            ["failure_balance_transaction"] = null,
            ["failure_code"] = payout.FailureCode,
            ["failure_message"] = payout.FailureMessage,
            ["livemode"] = false,
            ["metadata"] = metadata,
            ["method"] = payout.Method,
            ["original_payout"] = null,
            ["payout_method"] = null,
            // Stripe reconciles only automatic payouts; a payout made through the API is not_applicable.
            ["reconciliation_status"] = "not_applicable",
            ["reversed_by"] = null,
            ["source_type"] = "card",
            ["statement_descriptor"] = null,
            ["status"] = payout.Status,
            ["trace_id"] = null,
            ["type"] = "bank_account",
        };
    }
}
