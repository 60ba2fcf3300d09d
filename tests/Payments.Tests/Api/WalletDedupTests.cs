using Npgsql;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>A wallet remembers only the operations that may still come again, not every one it ever applied.</summary>
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
        Assert.Contains("\"Balances\"", stored, StringComparison.Ordinal);
        foreach (var orderId in orders)
        {
            Assert.DoesNotContain($"payin:{orderId}", stored, StringComparison.Ordinal);
        }

        Assert.Equal(("15.00", "5.00", "0.00", "0.00"), await _merchant.WalletAsync(seller));
        await _operator.AssertInvariantsAsync();
    }

    private async Task<string> StoredWalletAsync(string seller)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT convert_from(payload, 'UTF8') FROM orleans_grain_state WHERE grain_id_ext = $1 AND payload IS NOT NULL AND position('AppliedOperations' in convert_from(payload, 'UTF8')) > 0",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = seller });
        return (string)(await command.ExecuteScalarAsync() ?? throw new InvalidOperationException($"no stored wallet for {seller}"));
    }
}
