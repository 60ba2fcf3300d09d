using System.Xml;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Payments.Api.Authentication;
using Payments.Api.Idempotency;
using Payments.Api.Payments;
using Payments.Api.Problems;
using Payments.Core.Ids;
using Payments.Core.PaymentOrders;

namespace Payments.Api.Operations;

public sealed record DeadLetterResponse(string Id, string PaymentOrderId, string MerchantId, string Stage, int Attempts, string LastError, DateTime ParkedAt, int ReplayCount);

public sealed record DeadLettersResponse(IReadOnlyList<DeadLetterResponse> DeadLetters);

public sealed record ReplayResponse(string Id, string Status, PaymentOrderResponse PaymentOrder);

public sealed record StuckPaymentsResponse(string OlderThan, IReadOnlyList<PaymentOrderResponse> Payments);

/// <summary>The operator routes under /v1/ops.</summary>
public static class OperationsApi
{
    private static readonly TimeSpan OlderThanMax = TimeSpan.FromDays(3650);

    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        var ops = app.MapGroup("/v1/ops").WithTags("Operations").RequireApiKey(operatorOnly: true);
        ops.MapGet("/invariants", InvariantsApi.CheckAsync)
            .WithName("CheckInvariants")
            .WithSummary("Checks that the ledger balances, sums to zero, matches every wallet, charged no order twice, and that successful orders settled.");
        ops.MapGet("/dead-letters", ListDeadLettersAsync)
            .WithName("ListDeadLetters")
            .WithSummary("Payment orders parked after their retry budget ran out.");
        ops.MapPost("/dead-letters/{id}/replay", ReplayAsync)
            .WithName("ReplayDeadLetter")
            .WithSummary("Gives a parked payment order a fresh retry budget.")
            .Produces<ReplayResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status404NotFound);
        ops.MapGet("/stuck-payments", ListStuckAsync)
            .WithName("ListStuckPayments")
            .WithSummary("Payment orders not final after older_than (ISO 8601 duration, default PT15M).");
        return app;
    }

    internal static async Task<Ok<DeadLettersResponse>> ListDeadLettersAsync(OperationsQueries queries, CancellationToken cancellationToken)
    {
        var rows = await queries.ParkedDeadLettersAsync(cancellationToken);
        return TypedResults.Ok(new DeadLettersResponse(rows.Select(row =>
            new DeadLetterResponse(row.PaymentOrderId, row.PaymentOrderId, row.MerchantId, row.Stage, row.Attempts, row.LastError, row.ParkedAt, row.ReplayCount)).ToArray()));
    }

    internal static async Task<IResult> ReplayAsync(string id, HttpContext context, IGrainFactory grains, OperationsQueries queries, IOptions<ApiOptions> options)
    {
        if (IdempotentPost.CheckKey(context, out var key) is { } keyProblem)
        {
            return keyProblem;
        }

        var (body, tooLarge) = await RequestBody.ReadAsync(context.Request, options.Value.RequestBodyBytesMax, context.RequestAborted);
        if (tooLarge is not null)
        {
            return tooLarge;
        }

        return await IdempotentPost.ExecuteAsync(context, grains, Caller.From(context), key, body!, options.Value.IdempotencyLockTimeout, async () =>
        {
            if (!ClientId.IsValid(id) || !await queries.IsParkedAsync(id, context.RequestAborted))
            {
                return PostOutcome.Problem(ApiProblem.NotFound("parked dead letter", id));
            }

            var result = await grains.GetGrain<IPaymentOrderGrain>(id).ReplayAsync();
            return result.Outcome == ReplayPaymentOrderOutcome.Replayed
                ? new PostOutcome(StatusCodes.Status200OK, new ReplayResponse(id, "replayed", PaymentOrderResponse.From(result.Order!)))
                : PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "dead_letter_not_parked", "Not parked", $"Payment order '{id}' is not parked."));
        });
    }

    internal static async Task<Results<Ok<StuckPaymentsResponse>, ProblemHttpResult>> ListStuckAsync(HttpContext context, UnfinishedPaymentOrders unfinished, TimeProvider time, CancellationToken cancellationToken)
    {
        var text = context.Request.Query["older_than"].ToString();
        if (text.Length == 0)
        {
            text = "PT15M";
        }

        TimeSpan olderThan;
        try
        {
            olderThan = XmlConvert.ToTimeSpan(text);
        }
        catch (Exception exception) when (exception is FormatException or OverflowException)
        {
            return ApiProblem.Validation(new Dictionary<string, string[]> { ["older_than"] = ["must be an ISO 8601 duration such as PT15M"] });
        }

        if (olderThan < TimeSpan.Zero || olderThan > OlderThanMax)
        {
            return ApiProblem.Validation(new Dictionary<string, string[]> { ["older_than"] = ["must be between PT0S and P3650D"] });
        }

        var stuck = await unfinished.StuckAsync(olderThan, time.GetUtcNow(), cancellationToken);
        return TypedResults.Ok(new StuckPaymentsResponse(text, stuck.Select(PaymentOrderResponse.From).ToArray()));
    }
}
