using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Payments.PspSimulator.Reporting;

/// <summary>
/// How the next reports are wrong, for reconciliation tests (<c>POST /_sim/settlement_faults</c>): each charge, refund
/// or refund failure row is dropped (<see cref="DropRate"/>), written twice with the same balance transaction id
/// (<see cref="DuplicateRate"/>) or has its gross and net one minor unit higher (<see cref="AmountChangeRate"/>), and
/// <see cref="UnknownChargeCount"/> charge rows of payments that are not ours are added at the end. Draws come from
/// <see cref="Seed"/> in row order, so a report reads the same each time. Payout rows are never touched: they are the
/// PSP's settlement, not one of the records reconciliation is tested on.
/// </summary>
public sealed record SettlementFaultProfile(
    double DropRate = 0,
    double DuplicateRate = 0,
    double AmountChangeRate = 0,
    int UnknownChargeCount = 0,
    int Seed = 0)
{
    public bool IsNone => DropRate == 0 && DuplicateRate == 0 && AmountChangeRate == 0 && UnknownChargeCount == 0;

    public JsonObject ToJson() => new()
    {
        ["drop_rate"] = DropRate,
        ["duplicate_rate"] = DuplicateRate,
        ["amount_change_rate"] = AmountChangeRate,
        ["unknown_charge_count"] = UnknownChargeCount,
        ["seed"] = Seed,
    };

    /// <summary>Reads a profile; <c>{}</c> is none. False (with what is wrong) for an unknown field or a value out of range.</summary>
    public static bool TryParse(string body, out SettlementFaultProfile profile, out string? error)
    {
        profile = new SettlementFaultProfile();
        error = null;
        try
        {
            if (JsonNode.Parse(body.Length == 0 ? "{}" : body) is not JsonObject json)
            {
                error = "The body must be a JSON object.";
                return false;
            }

            foreach (var (name, value) in json)
            {
                switch (name)
                {
                    case "drop_rate": profile = profile with { DropRate = Rate(name, value) }; break;
                    case "duplicate_rate": profile = profile with { DuplicateRate = Rate(name, value) }; break;
                    case "amount_change_rate": profile = profile with { AmountChangeRate = Rate(name, value) }; break;
                    case "unknown_charge_count":
                        var count = value?.GetValue<int>() ?? 0;
                        profile = profile with { UnknownChargeCount = count is >= 0 and <= 1_000_000 ? count : throw new FormatException($"{name} must be between 0 and 1000000.") };
                        break;
                    case "seed": profile = profile with { Seed = value?.GetValue<int>() ?? 0 }; break;
                    default: throw new FormatException($"Unknown field: {name}.");
                }
            }

            return true;
        }
        catch (Exception exception) when (exception is JsonException or FormatException or InvalidOperationException)
        {
            error = exception.Message;
            return false;
        }
    }

    private static double Rate(string name, JsonNode? value)
    {
        var rate = value?.GetValue<double>() ?? 0;
        return rate is >= 0 and <= 1 ? rate : throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{name} must be between 0 and 1."));
    }
}

/// <summary>The settlement fault profile of the moment. Not part of the PSP's state: a new simulator starts without.</summary>
internal sealed class SettlementFaults
{
    private volatile SettlementFaultProfile? _current;

    /// <summary>The profile, or null for none.</summary>
    public SettlementFaultProfile? Current => _current;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/_sim/settlement_faults", (SettlementFaults faults) => Answer(faults.Current));
        app.MapPost("/_sim/settlement_faults", SetAsync);
    }

    private static async Task<IResult> SetAsync(HttpContext http, SettlementFaults faults)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false);
        if (!SettlementFaultProfile.TryParse(body, out var profile, out var error))
        {
            return Results.Content(StripeJson.ErrorBody("invalid_request_error", "parameter_invalid", error!, null), "application/json", Encoding.UTF8, 400);
        }

        faults._current = profile.IsNone ? null : profile;
        return Answer(faults.Current);
    }

    private static IResult Answer(SettlementFaultProfile? profile) =>
        Results.Content(StripeJson.Serialize((profile ?? new SettlementFaultProfile()).ToJson()), "application/json", Encoding.UTF8);
}
