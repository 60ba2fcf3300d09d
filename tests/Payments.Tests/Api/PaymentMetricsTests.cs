using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>The money grains count what happens on the meter <c>Payments</c>: orders by outcome, PSP retries, dead letters.</summary>
[Collection(ServerCollection.Name)]
public sealed class PaymentMetricsTests(ServerFixture fixture) : IDisposable
{
    private readonly ConcurrentDictionary<string, long> _counted = new(StringComparer.Ordinal);
    private readonly MeterListener _listener = new();

    [Fact]
    public async Task Orders_that_succeed_fail_or_need_a_retry_are_counted_by_outcome_and_psp_calls_timed()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Payments")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var labels = string.Join(',', tags.ToArray().Select(tag => $"{tag.Key}={tag.Value}").Order(StringComparer.Ordinal));
            _counted.AddOrUpdate($"{instrument.Name}[{labels}]", value, (_, sum) => sum + value);
        });
        // Durations: how many were measured.
        _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
        {
            var labels = string.Join(',', tags.ToArray().Select(tag => $"{tag.Key}={tag.Value}").Order(StringComparer.Ordinal));
            _counted.AddOrUpdate($"{instrument.Name}[{labels}]", 1, (_, count) => count + 1);
        });
        _listener.Start();

        using var merchant = fixture.Server.CreateClient();
        await merchant.PayAsync(Ids.New("seller"), "5.00");
        await merchant.PayAsync(Ids.New("seller"), "6.00", token: "pm_sim_unavailable_twice");
        using (var declined = await merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_chargeDeclined", (Ids.New("po"), Ids.New("seller"), "7.00", "USD")), Ids.New("key")))
        {
            Assert.Equal(HttpStatusCode.Created, declined.StatusCode);
        }

        // Other tests may pay at the same time (and are counted too): at least ours were.
        Assert.True(Count("payments.orders.finished[outcome=success]") >= 2, Describe());
        Assert.True(Count("payments.orders.finished[outcome=failed]") >= 1, Describe());
        Assert.True(Count("payments.psp.retries[operation=charge]") >= 2, Describe());
        // Two charges answered with a payment intent (one at once, one after two 503s); the 503s and the decline are errors.
        Assert.True(Count("payments.psp.duration[operation=charge,result=answered]") >= 2, Describe());
        Assert.True(Count("payments.psp.duration[operation=charge,result=error]") >= 3, Describe());
    }

    public void Dispose() => _listener.Dispose();

    private long Count(string key) => _counted.GetValueOrDefault(key);

    private string Describe() => string.Join("; ", _counted.Select(pair => $"{pair.Key} {pair.Value}"));
}
