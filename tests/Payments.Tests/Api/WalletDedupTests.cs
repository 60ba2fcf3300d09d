using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Payments.Grains.Storage;
using Payments.Grains.Wallets;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>
/// With its operation ids in its state (Wallets:RecordOperationsInTable=false, for rolling upgrades), a wallet remembers only
/// the operations that may still come again, not every one it ever applied. The default, the ids in grain_operations:
/// WalletOperationsTests.
/// </summary>
[Collection(AbandonedPaymentsCollection.Name)]
public sealed class WalletDedupTests(AbandonedPaymentsFixture fixture)
{
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _operator = fixture.Server.CreateClient(TestServer.OperatorKey);

    [Fact]
    public async Task A_wallet_forgets_the_operations_their_orders_have_stored_as_applied_and_its_balances_stay_exact()
    {
        var seller = Ids.New("seller");
        var orders = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var orderId = await _merchant.PayAsync(seller, "5.00");
            await Eventually.MatchesAsync(() => _merchant.GetJsonAsync($"/v1/payments/{orderId}"),
                order => order.GetProperty("wallet_updated").GetBoolean() && order.GetProperty("ledger_updated").GetBoolean(), TimeSpan.FromSeconds(10), $"{orderId} booked");
            orders.Add(orderId);
        }

        await _merchant.FulfillAsync(orders[3]);

        // Each later write stores the smaller set: the first orders' pay-ins (and the last one's, before the fulfillment's write)
        // are no longer in the stored state. Without forgetting, all four would be, and every later write would carry them.
        var stored = await StoredWalletAsync(seller);
        Assert.Equal(5_00L, stored.Balances["USD"].Available);
        foreach (var orderId in orders)
        {
            // Nowhere in the stored wallet, as the earlier check of the stored text had it.
            Assert.DoesNotContain($"payin:{orderId}", stored.AppliedOperations);
            Assert.DoesNotContain($"payin:{orderId}", stored.ForgettableSince.Keys);
            Assert.DoesNotContain($"payin:{orderId}", stored.Reservations.Keys);
        }

        // Forgotten from the state, never from grain_operations, which this mode records too (so silos of either mode agree).
        Assert.Equal(5, await RecordedOperationsAsync(seller));
        Assert.Equal(("15.00", "5.00", "0.00", "0.00"), await _merchant.WalletAsync(seller));
        await _operator.AssertInvariantsAsync();
    }

    private async Task<long> RecordedOperationsAsync(string seller)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM grain_operations WHERE grain_type = 'wallet' AND grain_key = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = seller });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The wallet as its row holds it, read with the silo's own grain state serializer.</summary>
    private async Task<SellerWalletState> StoredWalletAsync(string seller)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT payload FROM orleans_grain_state WHERE grain_type = 'wallet' AND grain_id_ext = $1 AND payload IS NOT NULL", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = seller });
        var payload = (byte[])(await command.ExecuteScalarAsync() ?? throw new InvalidOperationException($"no stored wallet for {seller}"));
        var serializer = fixture.Server.Server.Services.GetRequiredService<GrainStateSerializer>();
        return serializer.Deserialize<SellerWalletState>(payload) ?? throw new InvalidOperationException($"the stored wallet of {seller} read as null");
    }
}
