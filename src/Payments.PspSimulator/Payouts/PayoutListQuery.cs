using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Payments.PspSimulator.Payouts;

/// <summary>
/// The parameters of <c>GET /v1/payouts</c> as Stripe.net sends them: <c>limit</c> (1 to 100, 10 by default),
/// <c>starting_after</c>, <c>created</c> (exact, or <c>created[gt|gte|lt|lte]</c>), <c>status</c>, <c>destination</c>.
/// </summary>
internal sealed record PayoutListQuery(
    int Limit,
    string? StartingAfter,
    long? CreatedGreaterThan,
    long? CreatedAtLeast,
    long? CreatedLessThan,
    long? CreatedAtMost,
    string? Status,
    string? Destination)
{
    public const int DefaultLimit = 10;
    public const int MaxLimit = 100;

    public bool Matches(SimulatedPayout payout) =>
        (CreatedGreaterThan is not { } gt || payout.Created > gt)
        && (CreatedAtLeast is not { } gte || payout.Created >= gte)
        && (CreatedLessThan is not { } lt || payout.Created < lt)
        && (CreatedAtMost is not { } lte || payout.Created <= lte)
        && (Status is null || payout.Status == Status)
        && (Destination is null || payout.Destination == Destination);

    /// <summary>Reads the query, or says (as Stripe would, HTTP 400) which parameter is wrong.</summary>
    public static bool TryParse(IQueryCollection query, out PayoutListQuery parsed, [NotNullWhen(false)] out SimulatorResponse? refusal)
    {
        ArgumentNullException.ThrowIfNull(query);
        parsed = new PayoutListQuery(DefaultLimit, null, null, null, null, null, null, null);
        refusal = null;

        // Going backwards is not something we ask for; refusing it beats answering a page in the wrong direction.
        if (Text(query, "ending_before") is not null)
        {
            refusal = StripeApi.InvalidRequest("parameter_unknown", "The simulator pages payouts with starting_after only.", "ending_before");
            return false;
        }

        var limit = DefaultLimit;
        if (Text(query, "limit") is { } limitText)
        {
            if (!int.TryParse(limitText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out limit))
            {
                refusal = StripeApi.InvalidRequest("parameter_invalid_integer", $"Invalid integer: {limitText}", "limit");
                return false;
            }

            if (limit is < 1 or > MaxLimit)
            {
                refusal = StripeApi.InvalidRequest(
                    "parameter_invalid_integer",
                    $"This value must be between 1 and {MaxLimit} (it currently is '{limit}').",
                    "limit");
                return false;
            }
        }

        var created = new long?[5];
        string[] names = ["created", "created[gt]", "created[gte]", "created[lt]", "created[lte]"];
        for (var i = 0; i < names.Length; i++)
        {
            if (Text(query, names[i]) is not { } value)
            {
                continue;
            }

            if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
            {
                refusal = StripeApi.InvalidRequest("parameter_invalid_integer", $"Invalid integer: {value}", names[i]);
                return false;
            }

            created[i] = seconds;
        }

        parsed = new PayoutListQuery(
            limit,
            Text(query, "starting_after"),
            // An exact created is both bounds.
            created[1],
            created[2] ?? created[0],
            created[3],
            created[4] ?? created[0],
            Text(query, "status"),
            Text(query, "destination"));
        return true;
    }

    private static string? Text(IQueryCollection query, string name) =>
        query[name].ToString() is { Length: > 0 } value ? value : null;
}
