using System.Net.Http.Json;
using Payments.Core.Checkout;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Cluster;

[Collection(FailoverClusterCollection.Name)]
public sealed class FailoverTests(FailoverClusterFixture fixture)
{
    [Fact]
    public async Task Payment_orders_active_on_a_killed_silo_finish_on_another()
    {
        var grains = fixture.Cluster.Client;
        using var psp = new HttpClient { BaseAddress = fixture.PspAddress };
        var orderIds = Enumerable.Range(0, 12).Select(_ => Ids.New("po")).ToArray();

        // The PSP is down: every order is active, waiting on its retry timer, when its silo dies.
        (await psp.PostAsJsonAsync("/_sim/faults", new { error_rate = 1.0, seed = 3 })).EnsureSuccessStatusCode();
        foreach (var orderId in orderIds)
        {
            await grains.GetGrain<ICheckoutGrain>(Ids.New("chk")).CreateAsync(new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_visa"),
                [new CheckoutOrderLine(orderId, Ids.New("seller"), new Money(700, Currency.Get("EUR")))], TimeSpan.FromMilliseconds(200)));
        }

        var management = grains.GetGrain<IManagementGrain>(0);
        var hosts = new List<SiloAddress>();
        foreach (var orderId in orderIds)
        {
            hosts.Add(await management.GetActivationAddress(grains.GetGrain<IPaymentOrderGrain>(orderId)) ?? throw new InvalidOperationException($"{orderId} is not active"));
        }

        var victim = hosts.GroupBy(host => host).OrderByDescending(group => group.Count()).First().Key;
        var onVictim = orderIds.Where((_, i) => hosts[i].Equals(victim)).ToArray();
        await fixture.Cluster.KillSiloAsync(fixture.Cluster.GetSiloForAddress(victim) ?? throw new InvalidOperationException($"no silo {victim}"));
        (await psp.PostAsJsonAsync("/_sim/faults", new { })).EnsureSuccessStatusCode();

        Assert.NotEmpty(onVictim);
        foreach (var orderId in orderIds)
        {
            var order = await Eventually.MatchesAsync(() => ReadThroughFailoverAsync(grains.GetGrain<IPaymentOrderGrain>(orderId)),
                view => view is { Status: PaymentOrderStatus.Success, WalletUpdated: true, LedgerUpdated: true },
                TimeSpan.FromSeconds(60), $"order {orderId} (on killed silo: {onVictim.Contains(orderId)}) to settle");
            Assert.NotEqual(victim, await management.GetActivationAddress(grains.GetGrain<IPaymentOrderGrain>(orderId)));
            var intents = await psp.GetFromJsonAsync<System.Text.Json.JsonElement>("/_sim/payment_intents");
            Assert.Single(intents.EnumerateArray(), intent => intent.GetProperty("idempotency_key").GetString() == orderId);
            Assert.Equal(order!.PspReference, intents.EnumerateArray().Single(intent => intent.GetProperty("idempotency_key").GetString() == orderId).GetProperty("id").GetString());
        }
    }

    /// <summary>Until the cluster has declared the killed silo dead, a call routed to it fails: that is "not yet", not a verdict.</summary>
    private static async Task<PaymentOrderView?> ReadThroughFailoverAsync(IPaymentOrderGrain order)
    {
        try
        {
            return await order.GetAsync();
        }
        catch (Exception exception) when (exception is OrleansException or TimeoutException)
        {
            return null;
        }
    }
}
