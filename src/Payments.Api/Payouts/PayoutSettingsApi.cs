using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Payments.Api.Authentication;
using Payments.Api.Json;
using Payments.Api.Problems;
using Payments.Core.Ids;
using Payments.Core.Payouts;
using Payments.Core.Wallets;

namespace Payments.Api.Payouts;

/// <summary>PUT and GET /v1/sellers/{seller}/payout_settings: where a seller is paid, and how often.</summary>
internal static class PayoutSettingsApi
{
    /// <summary>A bank account as a PSP token: never an account number.</summary>
    private const string DestinationRule = "must be a PSP bank account token such as \"ba_...\" (letters, digits and '_'; never an account number)";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPut("/sellers/{sellerAccount}/payout_settings", PutAsync)
            .WithName("PutPayoutSettings")
            .WithSummary("Sets a seller's payout destination and interval (manual, daily, weekly with weekly_anchor).")
            .Accepts<object>("application/json")
            .Produces<PayoutSettingsResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/sellers/{sellerAccount}/payout_settings", GetAsync)
            .WithName("GetPayoutSettings")
            .WithSummary("A seller's payout settings; by default no destination and interval manual.");
    }

    internal static async Task<IResult> PutAsync(string sellerAccount, HttpContext context, IGrainFactory grains, IOptions<ApiOptions> options)
    {
        var caller = Caller.From(context);
        if (caller.MerchantId is not { } merchantId)
        {
            return ApiProblem.MerchantKeyRequired("Payout settings are set with the seller's merchant's API key.");
        }

        if (!await OwnsSellerAsync(grains, caller, sellerAccount))
        {
            return ApiProblem.NotFound("seller", sellerAccount);
        }

        var (body, document, bodyProblem) = await RequestBody.ReadJsonAsync(context.Request, options.Value.RequestBodyBytesMax, context.RequestAborted);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        PayoutSettings? settings;
        using (document)
        {
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            settings = Parse(document!.RootElement, errors);
            if (settings is null)
            {
                return ApiProblem.Validation(errors);
            }
        }

        var view = await grains.GetGrain<IPayoutScheduleGrain>(sellerAccount).UpdateAsync(new UpdatePayoutSettings(merchantId, settings));
        return TypedResults.Ok(PayoutSettingsResponse.From(view));
    }

    internal static async Task<Results<Ok<PayoutSettingsResponse>, ProblemHttpResult>> GetAsync(string sellerAccount, HttpContext context, IGrainFactory grains)
    {
        if (!await OwnsSellerAsync(grains, Caller.From(context), sellerAccount))
        {
            return ApiProblem.NotFound("seller", sellerAccount);
        }

        return TypedResults.Ok(PayoutSettingsResponse.From(await grains.GetGrain<IPayoutScheduleGrain>(sellerAccount).GetAsync()));
    }

    /// <summary>A seller is the merchant's once the merchant's payments reach it; other merchants see no such seller.</summary>
    private static async Task<bool> OwnsSellerAsync(IGrainFactory grains, Caller caller, string sellerAccount) =>
        ClientId.IsValid(sellerAccount)
        && await grains.GetGrain<ISellerWalletGrain>(sellerAccount).GetAsync() is { MerchantId: not null } wallet
        && caller.CanSee(wallet.MerchantId);

    private static PayoutSettings? Parse(JsonElement body, Dictionary<string, string[]> errors)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors["$"] = ["the body must be a JSON object"];
            return null;
        }

        var destination = JsonFields.OptionalString(body, "destination", DestinationRule, errors);
        if (destination is not null && !IsBankAccountToken(destination))
        {
            errors["destination"] = [DestinationRule];
        }

        var intervalText = JsonFields.OptionalString(body, "interval", "must be \"manual\", \"daily\" or \"weekly\"", errors) ?? "manual";
        PayoutInterval? interval = intervalText switch
        {
            "manual" => PayoutInterval.Manual,
            "daily" => PayoutInterval.Daily,
            "weekly" => PayoutInterval.Weekly,
            _ => null,
        };
        if (interval is null)
        {
            errors["interval"] = ["must be \"manual\", \"daily\" or \"weekly\""];
        }

        var anchorText = JsonFields.OptionalString(body, "weekly_anchor", "must be a day of the week such as \"monday\"", errors);
        DayOfWeek? anchor = null;
        if (anchorText is not null)
        {
            if (interval != PayoutInterval.Weekly)
            {
                errors["weekly_anchor"] = ["is only for interval \"weekly\""];
            }
            else if (Enum.GetValues<DayOfWeek>().Where(day => day.ToString().ToLowerInvariant() == anchorText).Cast<DayOfWeek?>().FirstOrDefault() is { } day)
            {
                anchor = day;
            }
            else
            {
                errors["weekly_anchor"] = ["must be a day of the week in lower case, such as \"monday\""];
            }
        }
        else if (interval == PayoutInterval.Weekly)
        {
            errors["weekly_anchor"] = ["is required for interval \"weekly\""];
        }

        if (interval is PayoutInterval.Daily or PayoutInterval.Weekly && destination is null && !errors.ContainsKey("destination"))
        {
            errors["destination"] = ["is required for a daily or weekly schedule"];
        }

        return errors.Count == 0 ? new PayoutSettings(destination, interval!.Value, anchor) : null;
    }

    private static bool IsBankAccountToken(string token) =>
        token.Length is > 3 and <= 64 && token.StartsWith("ba_", StringComparison.Ordinal)
        && token.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
        // An account number is digits: a token has letters after its prefix.
        && token[3..].Any(char.IsAsciiLetter);
}
