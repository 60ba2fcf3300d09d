using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Payments.Api.Authentication;
using Payments.Api.Problems;
using Payments.Core.Events;

namespace Payments.Api.Events;

/// <summary>The merchant's event log (GET /v1/events), its webhook endpoint, and the operators' view of failing deliveries.</summary>
public static class EventsApi
{
    private const int PageDefault = 100;

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("Events").RequireApiKey();
        api.MapGet("/events", ListAsync)
            .WithName("ListEvents")
            .WithSummary("The merchant's events, oldest first unless order=desc (limit ≤ 1000, starting_after an event id, type).");
        api.MapPut("/webhook_endpoint", PutEndpointAsync)
            .WithName("PutWebhookEndpoint")
            .WithSummary("Sets where the merchant's events are POSTed, which types, and (rotate_secret) a new signing secret.")
            .Accepts<object>("application/json")
            .Produces<WebhookEndpointResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapGet("/webhook_endpoint", GetEndpointAsync).WithName("GetWebhookEndpoint").WithSummary("The merchant's webhook endpoint.");
        api.MapDelete("/webhook_endpoint", DeleteEndpointAsync).WithName("DeleteWebhookEndpoint").WithSummary("Removes the endpoint; what it was still owed is canceled.");
        app.MapGroup("/v1/ops").WithTags("Operations").RequireApiKey(operatorOnly: true)
            .MapGet("/webhook-deliveries", TroubledEndpointsAsync)
            .WithName("ListWebhookDeliveryTrouble")
            .WithSummary("Merchant endpoints whose deliveries are failing (still retried) or failed (given up): status=failing|failed.");
        return app;
    }

    private static IResult? MerchantOnly(Caller caller, out string merchantId)
    {
        merchantId = caller.MerchantId ?? string.Empty;
        return caller.MerchantId is null
            ? ApiProblem.MerchantKeyRequired("Events and webhook endpoints belong to a merchant: use its API key.")
            : null;
    }

    internal static async Task<IResult> ListAsync(HttpContext context, EventQueries queries, CancellationToken cancellationToken)
    {
        if (MerchantOnly(Caller.From(context), out var merchantId) is { } forbidden)
        {
            return forbidden;
        }

        var query = context.Request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = PageLimit.Read(query, PageDefault, EventQueries.PageMax, errors);

        var type = query["type"].ToString() is { Length: > 0 } typeText ? typeText : null;
        if (type is not null && !EventTypes.IsKnown(type))
        {
            errors["type"] = [$"must be one of {string.Join(", ", EventTypes.All)}"];
        }

        var order = query["order"].ToString();
        if (order is not ("" or "asc" or "desc"))
        {
            errors["order"] = ["must be asc or desc"];
        }

        long? after = null;
        if (query["starting_after"].ToString() is { Length: > 0 } startingAfter)
        {
            // A NUL cannot be in an id, nor in a PostgreSQL text parameter (it would be a 500): it is an id that is not yours.
            after = startingAfter.Length <= 64 && !startingAfter.Contains('\0', StringComparison.Ordinal) ? await queries.SequenceOfAsync(merchantId, startingAfter, cancellationToken) : null;
            if (after is null)
            {
                errors["starting_after"] = ["must be the id of one of your events"];
            }
        }

        if (errors.Count > 0)
        {
            return ApiProblem.Validation(errors);
        }

        var events = await queries.PageAsync(merchantId, type, after, newestFirst: order == "desc", limit, cancellationToken);
        return TypedResults.Ok(new EventsPageResponse(events.Take(limit).ToArray(), events.Count > limit));
    }

    internal static async Task<IResult> PutEndpointAsync(
        HttpContext context, WebhookEndpointStore endpoints, IOptions<WebhookOptions> webhooks, IOptions<ApiOptions> api, TimeProvider time, CancellationToken cancellationToken)
    {
        if (MerchantOnly(Caller.From(context), out var merchantId) is { } forbidden)
        {
            return forbidden;
        }

        var (_, document, bodyProblem) = await RequestBody.ReadJsonAsync(context.Request, api.Value.RequestBodyBytesMax, cancellationToken);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        using (document)
        {
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var request = ParseEndpoint(document!.RootElement, webhooks.Value.PrivateNetworksAllowed, errors);
            if (request is null)
            {
                return ApiProblem.Validation(errors);
            }

            var now = time.GetUtcNow();
            return TypedResults.Ok(await endpoints.PutAsync(merchantId, request.Url, request.Events, request.RotateSecret, now, now + webhooks.Value.PreviousSecretFor, cancellationToken));
        }
    }

    internal static async Task<IResult> GetEndpointAsync(HttpContext context, WebhookEndpointStore endpoints, CancellationToken cancellationToken)
    {
        if (MerchantOnly(Caller.From(context), out var merchantId) is { } forbidden)
        {
            return forbidden;
        }

        return await endpoints.GetAsync(merchantId, cancellationToken) is { } endpoint ? TypedResults.Ok(endpoint) : EndpointNotFound();
    }

    internal static async Task<IResult> DeleteEndpointAsync(HttpContext context, WebhookEndpointStore endpoints, CancellationToken cancellationToken)
    {
        if (MerchantOnly(Caller.From(context), out var merchantId) is { } forbidden)
        {
            return forbidden;
        }

        return await endpoints.DeleteAsync(merchantId, cancellationToken) is { } url ? TypedResults.Ok(new DeletedWebhookEndpointResponse(url, Deleted: true)) : EndpointNotFound();
    }

    internal static async Task<IResult> TroubledEndpointsAsync(HttpContext context, EventQueries queries, CancellationToken cancellationToken)
    {
        var status = context.Request.Query["status"].ToString() is { Length: > 0 } given ? given : "failing";
        if (status is not ("failing" or "failed"))
        {
            return ApiProblem.Validation(new Dictionary<string, string[]> { ["status"] = ["must be failing or failed"] });
        }

        return TypedResults.Ok(new TroubledEndpointsResponse(await queries.TroubledEndpointsAsync(status, cancellationToken)));
    }

    private static IResult EndpointNotFound() =>
        ApiProblem.Create(StatusCodes.Status404NotFound, "webhook_endpoint_not_found", "No webhook endpoint", "No webhook endpoint is set: PUT /v1/webhook_endpoint sets one.");

    private static EndpointRequest? ParseEndpoint(JsonElement body, bool allowPrivateNetworks, Dictionary<string, string[]> errors)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors[""] = ["the body must be a JSON object"];
            return null;
        }

        string? url = null;
        if (!body.TryGetProperty("url", out var urlElement) || urlElement.ValueKind != JsonValueKind.String)
        {
            errors["url"] = ["is required: the http(s) URL to POST events to"];
        }
        else if (WebhookAddresses.Refusal(urlElement.GetString(), allowPrivateNetworks) is { } refusal)
        {
            errors["url"] = [refusal];
        }
        else
        {
            url = urlElement.GetString();
        }

        string[] events = [EventTypes.Any];
        if (body.TryGetProperty("events", out var eventsElement) && eventsElement.ValueKind != JsonValueKind.Null)
        {
            if (eventsElement.ValueKind != JsonValueKind.Array || eventsElement.GetArrayLength() is 0 or > 20
                || eventsElement.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String || !(item.GetString() == EventTypes.Any || EventTypes.IsKnown(item.GetString()!))))
            {
                errors["events"] = [$"must be a non-empty list of \"*\" or event types: {string.Join(", ", EventTypes.All)}"];
            }
            else
            {
                events = eventsElement.EnumerateArray().Select(item => item.GetString()!).Distinct(StringComparer.Ordinal).ToArray();
            }
        }

        var rotate = false;
        if (body.TryGetProperty("rotate_secret", out var rotateElement) && rotateElement.ValueKind != JsonValueKind.Null)
        {
            if (rotateElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                errors["rotate_secret"] = ["must be true or false"];
            }
            else
            {
                rotate = rotateElement.GetBoolean();
            }
        }

        return errors.Count == 0 ? new EndpointRequest(url!, events, rotate) : null;
    }

    private sealed record EndpointRequest(string Url, string[] Events, bool RotateSecret);
}
