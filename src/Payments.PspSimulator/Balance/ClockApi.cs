using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Payments.PspSimulator.Balance;

/// <summary>
/// <c>/_sim/clock</c>: the simulator's clock, which tests move forward (<c>POST { "advance": "P1D" }</c>, an ISO 8601
/// duration) to make "yesterday" end. Its offset is kept with the state. Reading or moving it makes the payouts of the
/// days that ended, so a test that sees the new time sees their payouts too.
/// </summary>
internal static class ClockApi
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/_sim/clock", Get);
        app.MapPost("/_sim/clock", AdvanceAsync);
    }

    private static IResult Get(SimulatorStore store) => Answer(store.Update(changes =>
    {
        AutomaticPayouts.SweepDue(changes);
        return (changes.Now, changes.CurrentOffset);
    }));

    private static async Task<IResult> AdvanceAsync(HttpContext http, SimulatorStore store)
    {
        TimeSpan advance;
        try
        {
            var body = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted).ConfigureAwait(false);
            advance = XmlConvert.ToTimeSpan(body?["advance"]?.GetValue<string>() ?? throw new FormatException("advance is missing"));
        }
        catch (Exception exception) when (exception is JsonException or FormatException or InvalidOperationException)
        {
            return Refuse("advance must be an ISO 8601 duration such as \"P1D\" or \"PT2H\": " + exception.Message);
        }

        if (advance < TimeSpan.Zero)
        {
            return Refuse("The simulator's clock only moves forward.");
        }

        return Answer(store.Update(changes =>
        {
            changes.AdvanceClock(advance);
            AutomaticPayouts.SweepDue(changes);
            return (changes.Now, changes.CurrentOffset);
        }));
    }

    private static IResult Answer((DateTimeOffset Now, TimeSpan Offset) clock) => Results.Content(
        StripeJson.Serialize(new JsonObject
        {
            ["now"] = clock.Now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["offset"] = XmlConvert.ToString(clock.Offset),
        }),
        "application/json",
        Encoding.UTF8);

    private static IResult Refuse(string message) =>
        Results.Content(StripeJson.ErrorBody("invalid_request_error", "parameter_invalid", message, "advance"), "application/json", Encoding.UTF8, 400);
}
