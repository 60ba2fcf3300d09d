using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Payments.Api.Authentication;
using Payments.Api.Idempotency;
using Payments.Api.Json;
using Payments.Api.Problems;
using Payments.Core.Payouts;

namespace Payments.Api.Payouts;

/// <summary>POST /v1/ops/payout-runs: an operator runs the payout schedule of a date now (after an outage, say).</summary>
public static class PayoutRunsApi
{
    /// <summary>Sellers whose run goes on at once: enough to keep the silos busy, few enough not to flood them.</summary>
    private const int SellersInFlightMax = 16;

    internal static async Task<IResult> RunAsync(HttpContext context, IGrainFactory grains, PayoutQueries queries, IOptions<ApiOptions> options, TimeProvider time)
    {
        if (IdempotentPost.CheckKey(context, out var key) is { } keyProblem)
        {
            return keyProblem;
        }

        var (body, document, bodyProblem) = await RequestBody.ReadJsonAsync(context.Request, options.Value.RequestBodyBytesMax, context.RequestAborted);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        DateOnly date;
        using (document)
        {
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var root = document!.RootElement;
            var text = root.ValueKind == JsonValueKind.Object ? JsonFields.OptionalString(root, "date", "must be a date such as \"2026-11-20\"", errors) : null;
            if (text is null || !DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date))
            {
                return ApiProblem.Validation(new Dictionary<string, string[]> { ["date"] = ["is required: a date such as \"2026-11-20\""] });
            }

            if (date > DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime))
            {
                // A run of a day to come would pay now, and take that day's payout ids from its real run.
                return ApiProblem.Validation(new Dictionary<string, string[]> { ["date"] = ["must not be after today (UTC)"] });
            }
        }

        return await IdempotentPost.ExecuteAsync(context, grains, Caller.From(context), key, body!, options.Value.IdempotencyLockTimeout, async () =>
        {
            var sellers = await queries.ScheduledSellersAsync(context.RequestAborted);
            var payoutIds = new List<string>();
            foreach (var chunk in sellers.Chunk(SellersInFlightMax))
            {
                var runs = await Task.WhenAll(chunk.Select(seller => grains.GetGrain<IPayoutScheduleGrain>(seller.SellerAccount).RunAsync(date)));
                payoutIds.AddRange(runs.SelectMany(run => run.PayoutIds));
            }

            return new PostOutcome(StatusCodes.Status200OK, new PayoutRunResponse(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), payoutIds));
        });
    }
}
