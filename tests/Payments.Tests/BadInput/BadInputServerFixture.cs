using System.Net.Http.Json;
using System.Text.Json;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.BadInput;

/// <summary>
/// A server of its own for the bad-input test: nothing else runs on it, so the state snapshot around the bad requests
/// moves only if one of them changed something; and rate limits far above what the test sends, since a 429 would hide
/// what the request itself does. One paid order gives the bad requests real resources to meet.
/// </summary>
public sealed class BadInputServerFixture : DedicatedServerFixture
{
    public KnownIds Known { get; private set; } = new("", "", "");

    private const string Plenty = "1000000";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["RateLimiting:PermitsPerSecond"] = Plenty,
        ["RateLimiting:Burst"] = Plenty,
        ["RateLimiting:AnonymousPermitsPerSecond"] = Plenty,
        ["RateLimiting:AnonymousBurst"] = Plenty,
        ["RateLimiting:PspWebhooksPermitsPerSecond"] = Plenty,
        ["RateLimiting:PspWebhooksBurst"] = Plenty,
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        using var merchant = Server.CreateClient();
        var seller = Ids.New("seller");
        var orderId = await merchant.PayAsync(seller, "10.00");
        var order = await merchant.GetJsonAsync($"/v1/payments/{orderId}");
        Known = new KnownIds(order.Str("checkout_id"), orderId, seller);

        // The payment's own webhook comes back after its answer: the state must have settled before the snapshot.
        using var psp = Server.CreatePspClient();
        await Eventually.MatchesAsync(() => psp.GetFromJsonAsync<JsonElement>("/_sim/events"),
            events => events.GetArrayLength() > 0 && events.EnumerateArray().All(e => e.GetProperty("delivered").GetBoolean()),
            TimeSpan.FromSeconds(30), "the PSP's webhooks for the setup payment to be delivered");
    }

    /// <summary>A snapshot once two in a row agree: whatever the setup set going has finished writing.</summary>
    public async Task<SortedDictionary<string, long>> SettledSnapshotAsync(HttpClient psp)
    {
        SortedDictionary<string, long>? last = null;
        var settled = await Eventually.MatchesAsync(async () =>
            {
                var previous = last;
                last = await StateSnapshot.TakeAsync(Server.Server.DatabaseConnectionString, psp);
                return (Previous: previous, Current: last);
            },
            pair => pair.Previous is not null && StateSnapshot.Difference(pair.Previous, pair.Current).Length == 0,
            TimeSpan.FromSeconds(30), "the state to stop changing");
        return settled.Current;
    }
}
