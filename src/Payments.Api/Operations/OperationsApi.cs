using System.Xml;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Payments.Api.Authentication;
using Payments.Api.Idempotency;
using Payments.Api.Payments;
using Payments.Api.Payouts;
using Payments.Api.Problems;
using Payments.Core.DeadLetters;
using Payments.Core.Ids;
using Payments.Core.PaymentOrders;
using Payments.Core.Payouts;

namespace Payments.Api.Operations;

/// <param name="Id">What to replay: the payment order's id, or <c>payout:&lt;payout_id&gt;</c> for a payout.</param>
public sealed record DeadLetterResponse(string Id, string? PaymentOrderId, string? PayoutId, string MerchantId, string Stage, int Attempts, string LastError, DateTime ParkedAt, int ReplayCount);

public sealed record DeadLettersResponse(IReadOnlyList<DeadLetterResponse> DeadLetters);

public sealed record ReplayResponse(string Id, string Status, PaymentOrderResponse? PaymentOrder, PayoutResponse? Payout = null);

public sealed record StuckPaymentsResponse(string OlderThan, IReadOnlyList<PaymentOrderResponse> Payments);

/// <summary>The operator routes under /v1/ops.</summary>
public static class OperationsApi
{
    /// <summary>How a payout's dead letter is named in the routes: client ids have no ':', so it is never a payment order's.</summary>
    private const string PayoutIdPrefix = "payout:";

    private static readonly TimeSpan OlderThanMax = TimeSpan.FromDays(3650);

    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        var ops = app.MapGroup("/v1/ops").WithTags("Operations").RequireApiKey(operatorOnly: true);
        ops.MapGet("/invariants", InvariantsApi.CheckAsync)
            .WithName("CheckInvariants")
            .WithSummary("Checks that the ledger balances, sums to zero, matches every wallet, charged no order twice, and that successful orders settled.");
        ops.MapGet("/dead-letters", ListDeadLettersAsync)
            .WithName("ListDeadLetters")
            .WithSummary("Payment orders and payouts parked after their retry budget ran out.");
        ops.MapPost("/dead-letters/{id}/replay", ReplayAsync)
            .WithName("ReplayDeadLetter")
            .WithSummary("Gives a parked payment order (id) or payout (payout:<payout_id>) a fresh retry budget.")
            .Produces<ReplayResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status404NotFound);
        ops.MapGet("/stuck-payments", ListStuckAsync)
            .WithName("ListStuckPayments")
            .WithSummary("Payment orders not final after older_than (ISO 8601 duration, default PT15M).");
        ops.MapGet("/stuck-payouts", ListStuckPayoutsAsync)
            .WithName("ListStuckPayouts")
            .WithSummary("Payouts not final (or with bookings owed) after older_than (ISO 8601 duration, default PT1H).");
        ops.MapPost("/payout-runs", PayoutRunsApi.RunAsync)
            .WithName("RunPayoutSchedule")
            .WithSummary("Runs the payout schedule of a date now: every daily or weekly seller due that day is paid its available balance, once.")
            .Accepts<object>("application/json")
            .Produces<PayoutRunResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }

    internal static async Task<Ok<DeadLettersResponse>> ListDeadLettersAsync(OperationsQueries queries, CancellationToken cancellationToken)
    {
        var rows = await queries.ParkedDeadLettersAsync(cancellationToken);
        return TypedResults.Ok(new DeadLettersResponse(rows.Select(row => row.SubjectKind == DeadLetterKinds.Payout
            ? new DeadLetterResponse(PayoutIdPrefix + row.SubjectId, null, row.SubjectId, row.MerchantId, row.Stage, row.Attempts, row.LastError, row.ParkedAt, row.ReplayCount)
            : new DeadLetterResponse(row.SubjectId, row.SubjectId, null, row.MerchantId, row.Stage, row.Attempts, row.LastError, row.ParkedAt, row.ReplayCount)).ToArray()));
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
            if (id.StartsWith(PayoutIdPrefix, StringComparison.Ordinal))
            {
                return await ReplayPayoutAsync(id, id[PayoutIdPrefix.Length..], grains, queries, IdempotentPost.RequestToken(context), context.RequestAborted);
            }

            if (!ClientId.IsValid(id) || !await queries.IsParkedAsync(DeadLetterKinds.PaymentOrder, id, context.RequestAborted))
            {
                return PostOutcome.Problem(ApiProblem.NotFound("parked dead letter", id));
            }

            var result = await grains.GetGrain<IPaymentOrderGrain>(id).ReplayAsync(IdempotentPost.RequestToken(context));
            return result.Outcome == ReplayPaymentOrderOutcome.Replayed
                ? new PostOutcome(StatusCodes.Status200OK, new ReplayResponse(id, "replayed", PaymentOrderResponse.From(result.Order!)))
                : PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "dead_letter_not_parked", "Not parked", $"Payment order '{id}' is not parked."));
        });
    }

    private static async Task<PostOutcome> ReplayPayoutAsync(string id, string payoutId, IGrainFactory grains, OperationsQueries queries, string? requestToken, CancellationToken cancellationToken)
    {
        if (!PayoutIds.IsValid(payoutId) || !await queries.IsParkedAsync(DeadLetterKinds.Payout, payoutId, cancellationToken))
        {
            return PostOutcome.Problem(ApiProblem.NotFound("parked dead letter", id));
        }

        var result = await grains.GetGrain<IPayoutGrain>(payoutId).ReplayAsync(requestToken);
        return result.Outcome == ReplayPayoutOutcome.Replayed
            ? new PostOutcome(StatusCodes.Status200OK, new ReplayResponse(id, "replayed", null, PayoutResponse.From(result.Payout!)))
            : PostOutcome.Problem(ApiProblem.Create(StatusCodes.Status409Conflict, "dead_letter_not_parked", "Not parked", $"Payout '{payoutId}' is not parked."));
    }

    internal static async Task<Results<Ok<StuckPaymentsResponse>, ProblemHttpResult>> ListStuckAsync(HttpContext context, UnfinishedPaymentOrders unfinished, TimeProvider time, CancellationToken cancellationToken)
    {
        if (OlderThan(context, "PT15M", out var text) is not { } olderThan)
        {
            return OlderThanProblem();
        }

        var stuck = await unfinished.StuckAsync(olderThan, time.GetUtcNow(), cancellationToken);
        return TypedResults.Ok(new StuckPaymentsResponse(text, stuck.Select(PaymentOrderResponse.From).ToArray()));
    }

    internal static async Task<Results<Ok<StuckPayoutsResponse>, ProblemHttpResult>> ListStuckPayoutsAsync(HttpContext context, UnfinishedPayouts unfinished, TimeProvider time, CancellationToken cancellationToken)
    {
        if (OlderThan(context, "PT1H", out var text) is not { } olderThan)
        {
            return OlderThanProblem();
        }

        var stuck = await unfinished.StuckAsync(olderThan, time.GetUtcNow(), cancellationToken);
        return TypedResults.Ok(new StuckPayoutsResponse(text, stuck.Select(PayoutResponse.From).ToArray()));
    }

    /// <summary>The <c>older_than</c> query parameter (an ISO 8601 duration), or null when it is not one within bounds.</summary>
    private static TimeSpan? OlderThan(HttpContext context, string defaultText, out string text)
    {
        text = context.Request.Query["older_than"].ToString();
        if (text.Length == 0)
        {
            text = defaultText;
        }

        try
        {
            var olderThan = XmlConvert.ToTimeSpan(text);
            return olderThan < TimeSpan.Zero || olderThan > OlderThanMax ? null : olderThan;
        }
        catch (Exception exception) when (exception is FormatException or OverflowException)
        {
            return null;
        }
    }

    private static ProblemHttpResult OlderThanProblem() =>
        ApiProblem.Validation(new Dictionary<string, string[]> { ["older_than"] = ["must be an ISO 8601 duration between PT0S and P3650D, such as PT15M"] });
}
