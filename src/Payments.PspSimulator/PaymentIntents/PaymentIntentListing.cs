using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Payments.PspSimulator.PaymentIntents;

/// <summary>
/// Stripe's list of payment intents (<c>GET /v1/payment_intents</c>): newest first, <c>limit</c> 1-100 (10 by default),
/// cursor paging with <c>starting_after</c> (the last id of the page before). Lets a caller read everything the PSP holds,
/// for example to compare every charge with the orders it belongs to.
/// </summary>
internal static class PaymentIntentListing
{
    private const int LimitDefault = 10;
    private const int LimitMax = 100;

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/payment_intents", ListAsync);

    private static Task ListAsync(HttpContext http, SimulatorStore store)
    {
        var limitText = http.Request.Query["limit"].ToString();
        var limit = LimitDefault;
        if (limitText.Length > 0 && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > LimitMax))
        {
            return StripeApi.WriteAsync(http, new SimulatorResponse(400, StripeJson.ErrorBody("invalid_request_error", "parameter_invalid_integer",
                $"This value must be between 1 and {LimitMax}.", "limit")));
        }

        // Newest first, as Stripe lists. The store keeps creation order, so a cursor is a position: intents created while a
        // caller pages are newer than its cursor and never shift the pages still to come.
        IReadOnlyList<SimulatedPaymentIntent> newestFirst = [.. store.ListIntents().Reverse()];
        var start = 0;
        var startingAfter = http.Request.Query["starting_after"].ToString();
        if (startingAfter.Length > 0)
        {
            var cursor = IndexOf(newestFirst, startingAfter);
            if (cursor < 0)
            {
                return StripeApi.WriteAsync(http, new SimulatorResponse(400, StripeJson.ErrorBody("invalid_request_error", "resource_missing",
                    $"No such payment_intent: '{startingAfter}'", "starting_after")));
            }

            start = cursor + 1;
        }

        var apiBase = StripeApi.ApiBase(http.Request);
        var data = new JsonArray();
        foreach (var intent in newestFirst.Skip(start).Take(limit))
        {
            data.Add(StripeJson.PaymentIntent(intent, apiBase));
        }

        var result = new JsonObject
        {
            ["object"] = "list",
            ["url"] = "/v1/payment_intents",
            ["has_more"] = start + limit < newestFirst.Count,
            ["data"] = data,
        };
        return StripeApi.WriteAsync(http, new SimulatorResponse(200, StripeJson.Serialize(result)));
    }

    private static int IndexOf(IReadOnlyList<SimulatedPaymentIntent> intents, string id)
    {
        for (var index = 0; index < intents.Count; index++)
        {
            if (intents[index].Id == id)
            {
                return index;
            }
        }

        return -1;
    }
}
