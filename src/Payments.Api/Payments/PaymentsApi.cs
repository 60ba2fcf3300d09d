using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Payments.Api.Authentication;
using Payments.Api.Idempotency;
using Payments.Api.Problems;
using Payments.Core.Checkout;
using Payments.Core.Ids;
using Payments.Core.PaymentOrders;

namespace Payments.Api.Payments;

public static class PaymentsApi
{
    public static IEndpointRouteBuilder MapPaymentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("Payments").RequireApiKey();
        api.MapPost("/payments", CreatePaymentAsync)
            .WithName("CreatePayment")
            .WithSummary("Create a checkout of one payment order per seller and charge each through the PSP.")
            .Accepts<object>("application/json")
            .Produces<CheckoutResponse>(StatusCodes.Status201Created)
            .Produces<CheckoutResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        api.MapGet("/checkouts/{checkoutId}", GetCheckoutAsync)
            .WithName("GetCheckout")
            .WithSummary("A checkout and its payment orders.");
        api.MapGet("/payments/{paymentOrderId}", GetPaymentOrderAsync)
            .WithName("GetPaymentOrder")
            .WithSummary("One payment order with its history.");
        api.MapPost("/payments/{paymentOrderId}/fulfillment", FulfillAsync)
            .WithName("FulfillPaymentOrder")
            .WithSummary("The goods were delivered: what remains after refunds moves from the seller's pending to available funds, once.")
            .Accepts<object>("application/json")
            .Produces<PaymentOrderResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    internal static async Task<IResult> CreatePaymentAsync(HttpContext context, IGrainFactory grains, IOptions<ApiOptions> options)
    {
        var caller = Caller.From(context);
        if (caller.MerchantId is null)
        {
            return ApiProblem.MerchantKeyRequired("Payments are created with a merchant's API key.");
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

        using (document)
        {
            if (CardDataDetector.ContainsCardNumber(document!.RootElement))
            {
                return ApiProblem.Create(StatusCodes.Status400BadRequest, "card_data_not_accepted", "Card data not accepted",
                    "Card numbers are never accepted: use a PSP token or the hosted payment page.");
            }

            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var request = CreatePaymentRequestParser.Parse(document.RootElement, errors);
            if (request is null)
            {
                return ApiProblem.Validation(errors);
            }

            return await IdempotentPost.ExecuteAsync(context, grains, caller, key, body!, options.Value.IdempotencyLockTimeout,
                () => CreateCheckoutAsync(grains, caller.MerchantId, request, options.Value.SynchronousWindow));
        }
    }

    private static async Task<PostOutcome> CreateCheckoutAsync(IGrainFactory grains, string merchantId, CreatePaymentRequest request, TimeSpan synchronousWindow)
    {
        var result = await grains.GetGrain<ICheckoutGrain>(request.CheckoutId).CreateAsync(
            new CreateCheckout(merchantId, request.BuyerId, request.PaymentMethod, request.Orders, synchronousWindow));
        switch (result.Outcome)
        {
            case CreateCheckoutOutcome.Created:
            case CreateCheckoutOutcome.AlreadyExists:
                var checkout = result.Checkout!;
                var status = checkout.IsPaymentDone ? StatusCodes.Status201Created : StatusCodes.Status202Accepted;
                return new PostOutcome(status, CheckoutResponse.From(checkout), $"/v1/checkouts/{checkout.CheckoutId}");
            case CreateCheckoutOutcome.ExistsWithDifferentRequest:
                return PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "checkout_exists", "Checkout exists",
                    $"Checkout '{request.CheckoutId}' was already created with a different request."));
            case CreateCheckoutOutcome.SellerBelongsToOtherMerchant:
                return PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "seller_account_conflict", "Seller belongs to another merchant",
                    $"Seller account '{result.ConflictingId}' already receives another merchant's payments."));
            case CreateCheckoutOutcome.PaymentOrderExists:
                return PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "payment_order_exists", "Payment order exists",
                    $"Payment order '{result.ConflictingId}' already belongs to another checkout."));
            default:
                throw new InvalidOperationException($"Unexpected checkout outcome {result.Outcome}.");
        }
    }

    internal static async Task<IResult> FulfillAsync(string paymentOrderId, HttpContext context, IGrainFactory grains, IOptions<ApiOptions> options)
    {
        var caller = Caller.From(context);
        if (IdempotentPost.CheckKey(context, out var key) is { } keyProblem)
        {
            return keyProblem;
        }

        var (body, tooLarge) = await RequestBody.ReadAsync(context.Request, options.Value.RequestBodyBytesMax, context.RequestAborted);
        if (tooLarge is not null)
        {
            return tooLarge;
        }

        if (body!.Length > 0)
        {
            // The body is optional ({}); when there is one it must be a JSON object.
            var (document, invalidJson) = RequestBody.ParseJson(body);
            if (invalidJson is not null)
            {
                return invalidJson;
            }

            using (document)
            {
                if (document!.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
                {
                    return ApiProblem.Validation(new Dictionary<string, string[]> { ["$"] = ["the body must be a JSON object"] });
                }
            }
        }

        return await IdempotentPost.ExecuteAsync(context, grains, caller, key, body, options.Value.IdempotencyLockTimeout, async () =>
        {
            var grain = ClientId.IsValid(paymentOrderId) ? grains.GetGrain<IPaymentOrderGrain>(paymentOrderId) : null;
            var order = grain is null ? null : await grain.GetAsync();
            if (order is null || !caller.CanSee(order.MerchantId))
            {
                return PostOutcome.Problem(ApiProblem.NotFound("payment order", paymentOrderId));
            }

            var result = await grain!.FulfillAsync();
            return result.Outcome switch
            {
                FulfillPaymentOrderOutcome.Fulfilled or FulfillPaymentOrderOutcome.AlreadyFulfilled => new PostOutcome(StatusCodes.Status200OK, PaymentOrderResponse.From(result.Order!)),
                FulfillPaymentOrderOutcome.NotFulfillable => PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "payment_not_fulfillable", "Payment not fulfillable",
                    $"Payment order '{paymentOrderId}' is {result.Order?.Status.ToWireName() ?? order.Status.ToWireName()}: only a SUCCESS order can be fulfilled.")),
                _ => throw new InvalidOperationException($"Unexpected fulfillment outcome {result.Outcome}."),
            };
        });
    }

    internal static async Task<Results<Ok<CheckoutResponse>, ProblemHttpResult>> GetCheckoutAsync(string checkoutId, HttpContext context, IGrainFactory grains)
    {
        var caller = Caller.From(context);
        var checkout = ClientId.IsValid(checkoutId) ? await grains.GetGrain<ICheckoutGrain>(checkoutId).GetAsync() : null;
        return checkout is not null && caller.CanSee(checkout.MerchantId)
            ? TypedResults.Ok(CheckoutResponse.From(checkout))
            : ApiProblem.NotFound("checkout", checkoutId);
    }

    internal static async Task<Results<Ok<PaymentOrderResponse>, ProblemHttpResult>> GetPaymentOrderAsync(string paymentOrderId, HttpContext context, IGrainFactory grains)
    {
        var caller = Caller.From(context);
        var order = ClientId.IsValid(paymentOrderId) ? await grains.GetGrain<IPaymentOrderGrain>(paymentOrderId).GetAsync() : null;
        return order is not null && caller.CanSee(order.MerchantId)
            ? TypedResults.Ok(PaymentOrderResponse.From(order))
            : ApiProblem.NotFound("payment order", paymentOrderId);
    }
}
