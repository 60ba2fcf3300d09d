using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Reconciliation;

/// <summary>
/// A server of its own for reconciliation: its PSP's days hold only what its tests did (each test moves the simulator's
/// clock on a day), no daily run starts by itself, and a booking the report lacks is a break at once (no lag), while the
/// bank's lag stays long enough that a statement read a moment later than the report is not one; orders whose PSP answers
/// are lost are parked within seconds.
/// </summary>
public class ReconciliationServerFixture : DedicatedServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Reconciliation:DailyRuns"] = "false",
        ["Reconciliation:SettlementLag"] = "00:00:00",
        ["Reconciliation:BankLag"] = "01:00:00",
        ["Reconciliation:LookBack"] = "60.00:00:00",
        // A charge whose answers are all lost is parked after three attempts of two seconds each, not twelve of ten.
        ["PaymentOrders:Retry:AttemptsMax"] = "3",
        ["Psp:RequestTimeout"] = "00:00:02",
    };
}

/// <summary>Calls for reconciliation tests: the simulator's clock, runs started and awaited, their breaks.</summary>
internal static class ReconciliationCalls
{
    public static async Task<DateOnly> PspTodayAsync(this HttpClient psp)
    {
        var clock = await psp.GetJsonAsync("/_sim/clock");
        return DateOnly.FromDateTime(DateTimeOffset.Parse(clock.Str("now"), CultureInfo.InvariantCulture).UtcDateTime);
    }

    /// <summary>Moves the simulator's clock to the next midnight (its day ends, its payout is made) plus a minute.</summary>
    public static async Task EndPspDayAsync(this HttpClient psp)
    {
        var now = DateTimeOffset.Parse((await psp.GetJsonAsync("/_sim/clock")).Str("now"), CultureInfo.InvariantCulture);
        var untilNextDay = now.UtcDateTime.Date.AddDays(1).AddMinutes(1) - now.UtcDateTime;
        using var moved = await psp.PostAsync("/_sim/clock", new StringContent(
            JsonSerializer.Serialize(new { advance = System.Xml.XmlConvert.ToString(untilNextDay) }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
    }

    public static async Task SetSettlementFaultsAsync(this HttpClient psp, object faults)
    {
        using var response = await psp.PostAsJsonAsync("/_sim/settlement_faults", faults);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Starts a run of the source for the date (202 expected) and waits until it is no longer RUNNING.</summary>
    public static async Task<JsonElement> ReconcileAsync(this HttpClient operatorClient, string source, DateOnly date)
    {
        var field = source == "bank" ? "statement_date" : "settlement_date";
        var body = new Dictionary<string, string> { ["source"] = source, [field] = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) };
        using var started = await operatorClient.PostJsonAsync("/v1/reconciliation/runs", body, Ids.New("key"));
        var created = await started.JsonAsync();
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, $"starting a {source} run: {(int)started.StatusCode} {created}");
        return await operatorClient.FinishedRunAsync(created.Str("run_id"));
    }

    public static Task<JsonElement> FinishedRunAsync(this HttpClient operatorClient, string runId) =>
        Eventually.MatchesAsync(() => operatorClient.GetJsonAsync($"/v1/reconciliation/runs/{runId}"), run => run.Str("status") != "RUNNING",
            TimeSpan.FromSeconds(60), $"reconciliation run {runId} to finish");

    public static async Task<JsonElement[]> RunBreaksAsync(this HttpClient operatorClient, string runId)
    {
        var page = await operatorClient.GetJsonAsync($"/v1/reconciliation/runs/{runId}/breaks?limit=1000");
        Assert.False(page.GetProperty("has_more").GetBoolean());
        return page.GetProperty("breaks").EnumerateArray().ToArray();
    }

    /// <summary>Waits until every order has its pay-in booked in the ledger.</summary>
    public static async Task WaitForPayInsAsync(this HttpClient operatorClient, params string[] orderIds)
    {
        foreach (var orderId in orderIds)
        {
            await Eventually.MatchesAsync(() => operatorClient.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}"),
                page => page.GetProperty("transactions").EnumerateArray().Any(transaction => transaction.Str("kind") == "payin"),
                TimeSpan.FromSeconds(30), $"the pay-in of {orderId} to be booked");
        }
    }

    public static long Long(this JsonElement element, string name) => element.GetProperty(name).GetInt64();
}
