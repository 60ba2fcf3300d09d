using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Payments.Api.Authentication;
using Payments.Api.Idempotency;
using Payments.Api.Json;
using Payments.Api.Problems;
using Payments.Core.Ids;
using Payments.Core.Money;
using Payments.Core.Payouts;
using Payments.Core.Wallets;

namespace Payments.Api.Payouts;

/// <summary>POST /v1/payouts, GET /v1/payouts/{id} and a seller's payouts: money from a seller's available balance to its bank.</summary>
public static class PayoutsApi
{
    private const int PageDefault = 50;

    public static IEndpointRouteBuilder MapPayoutsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("Payouts").RequireApiKey();
        api.MapPost("/payouts", CreateAsync)
            .WithName("CreatePayout")
            .WithSummary("Pays part (amount) or all (no amount) of a seller's available balance to its bank account.")
            .Accepts<object>("application/json")
            .Produces<PayoutResponse>(StatusCodes.Status201Created)
            .Produces<PayoutResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        api.MapGet("/payouts/{payoutId}", GetAsync)
            .WithName("GetPayout")
            .WithSummary("One payout with its history.");
        api.MapGet("/sellers/{sellerAccount}/payouts", ListAsync)
            .WithName("ListSellerPayouts")
            .WithSummary("A seller's payouts, newest first (limit ≤ 100, starting_after a payout id).");
        PayoutSettingsApi.Map(api);
        return app;
    }

    internal static async Task<IResult> CreateAsync(HttpContext context, IGrainFactory grains, IOptions<ApiOptions> options)
    {
        var caller = Caller.From(context);
        if (caller.MerchantId is not { } merchantId)
        {
            return ApiProblem.MerchantKeyRequired("Payouts are created with a merchant's API key.");
        }

        if (IdempotentPost.CheckKey(context, out var key) is { } keyProblem)
        {
            return keyProblem;
        }

        var (body, document, bodyProblem) = await RequestBody.ReadJsonAsync(context.Request, options.Value.RequestBodyBytesMax, context.RequestAborted);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        CreatePayoutRequest? request;
        using (document)
        {
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            request = Parse(document!.RootElement, errors);
            if (request is null)
            {
                return ApiProblem.Validation(errors);
            }
        }

        return await IdempotentPost.ExecuteAsync(context, grains, caller, key, body!, options.Value.IdempotencyLockTimeout,
            () => CreatePayoutAsync(grains, merchantId, request, IdempotentPost.RequestToken(context)));
    }

    /// <summary>Checks in the order of the contract: 404 seller, 409 payout_exists, 409 payout_destination_missing, 422 insufficient_funds.</summary>
    private static async Task<PostOutcome> CreatePayoutAsync(IGrainFactory grains, string merchantId, CreatePayoutRequest request, string? requestToken)
    {
        var wallet = await grains.GetGrain<ISellerWalletGrain>(request.SellerAccount).GetAsync();
        if (wallet.MerchantId != merchantId)
        {
            return PostOutcome.Problem(ApiProblem.NotFound("seller", request.SellerAccount));
        }

        var payoutGrain = grains.GetGrain<IPayoutGrain>(request.PayoutId);
        var existing = await payoutGrain.GetAsync();
        if (existing is not null
            && (existing.MerchantId != merchantId || existing.SellerAccount != request.SellerAccount || existing.Amount.Currency != request.Currency
                || (request.AmountMinor is { } asked && asked != existing.Amount.Minor)))
        {
            return PayoutExists(request.PayoutId);
        }

        // The same payout again goes to the one it names, whatever the seller's settings say now: it moves nothing.
        var destination = existing?.Destination ?? (await grains.GetGrain<IPayoutScheduleGrain>(request.SellerAccount).GetAsync()).Settings.Destination;
        if (destination is null)
        {
            return PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "payout_destination_missing", "No payout destination",
                $"Seller '{request.SellerAccount}' has no payout destination: set one with PUT /v1/sellers/{request.SellerAccount}/payout_settings."));
        }

        var result = await payoutGrain.CreateAsync(new CreatePayout(merchantId, request.SellerAccount, request.Currency.Code, request.AmountMinor, destination, requestToken));
        return result.Outcome switch
        {
            CreatePayoutOutcome.Created => new PostOutcome(StatusCodes.Status201Created, PayoutResponse.From(result.Payout!), $"/v1/payouts/{request.PayoutId}"),
            CreatePayoutOutcome.AlreadyExists => new PostOutcome(StatusCodes.Status200OK, PayoutResponse.From(result.Payout!), $"/v1/payouts/{request.PayoutId}"),
            CreatePayoutOutcome.ExistsWithDifferentTerms => PayoutExists(request.PayoutId),
            CreatePayoutOutcome.InsufficientFunds => PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status422UnprocessableEntity, "insufficient_funds", "Insufficient funds",
                $"Seller '{request.SellerAccount}' has {Money.FormatMinor(result.AvailableMinor, request.Currency.MinorDigits)} {request.Currency.Code} available"
                + (request.AmountMinor is { } amount ? $"; the payout asks for {Money.FormatMinor(amount, request.Currency.MinorDigits)}." : "."))),
            _ => throw new InvalidOperationException($"Unexpected payout outcome {result.Outcome}."),
        };
    }

    private static PostOutcome PayoutExists(string payoutId) => PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "payout_exists", "Payout exists",
        $"Payout '{payoutId}' was already created with another seller, currency or amount."));

    internal static async Task<Results<Ok<PayoutResponse>, ProblemHttpResult>> GetAsync(string payoutId, HttpContext context, IGrainFactory grains)
    {
        var caller = Caller.From(context);
        var payout = PayoutIds.IsValid(payoutId) ? await grains.GetGrain<IPayoutGrain>(payoutId).GetAsync() : null;
        return payout is not null && caller.CanSee(payout.MerchantId)
            ? TypedResults.Ok(PayoutResponse.From(payout))
            : ApiProblem.NotFound("payout", payoutId);
    }

    internal static async Task<Results<Ok<PayoutsPageResponse>, ProblemHttpResult>> ListAsync(
        string sellerAccount, HttpContext context, IGrainFactory grains, PayoutQueries queries, CancellationToken cancellationToken)
    {
        var caller = Caller.From(context);
        var wallet = ClientId.IsValid(sellerAccount) ? await grains.GetGrain<ISellerWalletGrain>(sellerAccount).GetAsync() : null;
        if (wallet is not { MerchantId: not null } || !caller.CanSee(wallet.MerchantId))
        {
            return ApiProblem.NotFound("seller", sellerAccount);
        }

        var query = context.Request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = PageLimit.Read(query, PageDefault, PayoutQueries.PageMax, errors);

        var startingAfter = query["starting_after"].ToString() is { Length: > 0 } after ? after : null;
        if (startingAfter is not null && !(PayoutIds.IsValid(startingAfter) && await queries.IsSellerPayoutAsync(sellerAccount, startingAfter, cancellationToken)))
        {
            errors["starting_after"] = [$"must be the id of one of {sellerAccount}'s payouts"];
        }

        if (errors.Count > 0)
        {
            return ApiProblem.Validation(errors);
        }

        var ids = await queries.SellerPayoutIdsAsync(sellerAccount, startingAfter, limit, cancellationToken);
        var views = await Task.WhenAll(ids.Take(limit).Select(id => grains.GetGrain<IPayoutGrain>(id).GetAsync()));
        // A listed id whose payout is gone was refused by the wallet while the listing stood: it never existed.
        return TypedResults.Ok(new PayoutsPageResponse(
            views.OfType<PayoutView>().Where(payout => payout.SellerAccount == sellerAccount && caller.CanSee(payout.MerchantId)).Select(PayoutResponse.From).ToArray(),
            ids.Count > limit));
    }

    private static CreatePayoutRequest? Parse(JsonElement body, Dictionary<string, string[]> errors)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors["$"] = ["the body must be a JSON object"];
            return null;
        }

        const string idRule = "is required: 1-64 characters of letters, digits, '_' and '-'";
        var payoutId = JsonFields.RequiredString(body, "payout_id", PayoutIds.IsClientGiven, idRule + $", not starting with '{PayoutIds.ScheduledPrefix}' (the schedule's own ids)", errors);
        var seller = JsonFields.RequiredString(body, "seller_account", ClientId.IsValid, idRule, errors);
        var currencyCode = JsonFields.RequiredString(body, "currency", code => Currency.TryGet(code, out _), "is required: an ISO 4217 code such as \"USD\"", errors);
        var amountText = JsonFields.OptionalString(body, "amount", "must be a decimal string such as \"60.00\"", errors);
        long? amountMinor = null;
        if (currencyCode is not null && Currency.TryGet(currencyCode, out var currency) && amountText is not null)
        {
            if (Money.TryParsePositive(amountText, currency, out var amount, out var error))
            {
                amountMinor = amount.Minor;
            }
            else
            {
                errors["amount"] = [error!];
            }
        }

        return errors.Count == 0 ? new CreatePayoutRequest(payoutId!, seller!, Currency.Get(currencyCode!), amountMinor) : null;
    }

    private sealed record CreatePayoutRequest(string PayoutId, string SellerAccount, Currency Currency, long? AmountMinor);
}
