using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Payments.Api.Authentication;
using Payments.Api.Idempotency;
using Payments.Api.Json;
using Payments.Api.Payments;
using Payments.Api.Problems;
using Payments.Core.Ids;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;

namespace Payments.Api.Refunds;

public static class RefundsApi
{
    private const int ReasonLengthMax = 100;

    public static IEndpointRouteBuilder MapRefundsApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/v1").WithTags("Refunds").RequireApiKey()
            .MapPost("/payments/{paymentOrderId}/refunds", CreateAsync)
            .WithName("CreateRefund")
            .WithSummary("Refunds part (amount) or all (no amount) of what remains of a successful payment order.")
            .Accepts<object>("application/json")
            .Produces<RefundResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        return app;
    }

    internal static async Task<IResult> CreateAsync(string paymentOrderId, HttpContext context, IGrainFactory grains, IOptions<ApiOptions> options)
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

        string? amountText = null;
        string? reason = null;
        if (body!.Length > 0)
        {
            var (document, invalidJson) = RequestBody.ParseJson(body);
            if (invalidJson is not null)
            {
                return invalidJson;
            }

            using (document)
            {
                var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                var root = document!.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    errors["$"] = ["the body must be a JSON object"];
                }
                else
                {
                    amountText = JsonFields.OptionalString(root, "amount", "must be a decimal string such as \"40.00\"", errors);
                    if (amountText is not null && !IsPositiveDecimal(amountText))
                    {
                        // Checked before the key is taken, like every field: such a 400 is not stored under the key. (How many
                        // decimals the order's currency allows is known only once the order is read.)
                        errors["amount"] = ["must be a positive decimal string such as \"40.00\""];
                    }

                    reason = JsonFields.OptionalString(root, "reason", $"must be a string of 1-{ReasonLengthMax} characters", errors);
                    if (reason is { Length: 0 or > ReasonLengthMax })
                    {
                        errors["reason"] = [$"must be a string of 1-{ReasonLengthMax} characters"];
                    }
                }

                if (errors.Count > 0)
                {
                    return ApiProblem.Validation(errors);
                }
            }
        }

        return await IdempotentPost.ExecuteAsync(context, grains, caller, key, body, options.Value.IdempotencyLockTimeout, async () =>
        {
            var order = ClientId.IsValid(paymentOrderId) ? await grains.GetGrain<IPaymentOrderGrain>(paymentOrderId).GetAsync() : null;
            if (order is null || !caller.CanSee(order.MerchantId))
            {
                return PostOutcome.Problem(ApiProblem.NotFound("payment order", paymentOrderId));
            }

            long? amountMinor = null;
            if (amountText is not null)
            {
                if (!Money.TryParsePositive(amountText, order.Amount.Currency, out var amount, out var error))
                {
                    return PostOutcome.Problem(ApiProblem.Validation(new Dictionary<string, string[]> { ["amount"] = [error!] }));
                }

                amountMinor = amount.Minor;
            }

            var merchantId = caller.MerchantId ?? string.Empty;
            var result = await grains.GetGrain<IPaymentOrderGrain>(paymentOrderId).RefundAsync(
                new CreateRefund(RefundId(merchantId, paymentOrderId, key), amountMinor, reason, LegacyRefundId(merchantId, key)));
            return result.Outcome switch
            {
                CreateRefundOutcome.Created or CreateRefundOutcome.AlreadyExists =>
                    new PostOutcome(StatusCodes.Status201Created, RefundResponse.From(result.Refund!)),
                CreateRefundOutcome.ExceedsPayment => PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status422UnprocessableEntity, "refund_exceeds_payment",
                    "Refund exceeds payment", $"At most {Money.FormatMinor(result.RemainingMinor, order.Amount.Currency.MinorDigits)} {order.Amount.Currency.Code} remains to be refunded.")),
                CreateRefundOutcome.NotRefundable => PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "payment_not_refundable",
                    "Payment not refundable", NotRefundableReason(paymentOrderId, order))),
                _ => throw new InvalidOperationException($"Unexpected refund outcome {result.Outcome}."),
            };
        });
    }

    /// <summary>
    /// The refund's id follows from the merchant's Idempotency-Key and the order, so a retry of the same request (even one
    /// that runs again after its first run died or its lock timed out) names the same refund and cannot refund twice, while
    /// the same key on another order (say once its record is gone) names another refund: the id is the PSP's idempotency
    /// key (<c>refund:&lt;id&gt;</c>) and the ledger's external id, and two orders' refunds must never share those.
    /// </summary>
    internal static string RefundId(string merchantId, string paymentOrderId, string idempotencyKey) =>
        "re_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{merchantId}\n{paymentOrderId}\n{idempotencyKey}")))[..24];

    /// <summary>
    /// The id the same request got before the order was part of it (merchant and key only): a request whose first run made
    /// its refund before the upgrade and that is retried after it finds that refund on the order, not a second one.
    /// </summary>
    internal static string LegacyRefundId(string merchantId, string idempotencyKey) =>
        "re_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{merchantId}\n{idempotencyKey}")))[..24];

    /// <summary>Digits with an optional fraction, not all zero: the shape every amount has whatever its currency.</summary>
    private static bool IsPositiveDecimal(string text)
    {
        var point = text.IndexOf('.', StringComparison.Ordinal);
        var whole = point < 0 ? text : text[..point];
        var fraction = point < 0 ? string.Empty : text[(point + 1)..];
        return text.Length <= 40 && whole.Length > 0 && whole.All(char.IsAsciiDigit) && (point < 0 || (fraction.Length > 0 && fraction.All(char.IsAsciiDigit)))
            && text.Any(c => c is >= '1' and <= '9');
    }

    private static string NotRefundableReason(string paymentOrderId, PaymentOrderView order) =>
        order.Status != PaymentOrderStatus.Success ? $"Payment order '{paymentOrderId}' is {order.Status.ToWireName()}: only a SUCCESS order can be refunded."
        : order.DeadLettered ? $"Payment order '{paymentOrderId}' is parked as a dead letter: refunds wait until an operator replays it."
        : $"Payment order '{paymentOrderId}' has as many refunds as an order may have.";
}
