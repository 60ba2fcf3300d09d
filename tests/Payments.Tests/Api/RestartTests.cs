using System.Net;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>A server of its own, stopped and started again on the same data directory (and so the same PostgreSQL cluster).</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task A_restarted_server_returns_the_same_checkout_wallet_and_ledger()
    {
        var dataDirectory = TestServer.NewDataDirectory();
        var (checkoutId, orderId, seller) = (Ids.New("chk"), Ids.New("po"), Ids.New("seller"));
        string checkoutBefore, walletBefore, ledgerBefore;
        try
        {
            await using (var first = await TestServer.StartAsync(dataDirectory))
            {
                using var response = await first.CreateClient().PostJsonAsync("/v1/payments", ApiCalls.Checkout(checkoutId, "pm_card_visa", (orderId, seller, "42.00", "USD")), Ids.New("key"));
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                (checkoutBefore, walletBefore, ledgerBefore) = await SnapshotAsync(first, checkoutId, orderId, seller);
            }

            Assert.False(File.Exists(Path.Combine(dataDirectory, "postgres", "postmaster.pid")), "PostgreSQL was not stopped with the server");

            await using var second = await TestServer.StartAsync(dataDirectory);
            var (checkoutAfter, walletAfter, ledgerAfter) = await SnapshotAsync(second, checkoutId, orderId, seller);

            Assert.Equal(checkoutBefore, checkoutAfter);
            Assert.Equal(walletBefore, walletAfter);
            Assert.Equal(ledgerBefore, ledgerAfter);
            Assert.Contains("\"status\":\"SUCCEEDED\"", checkoutAfter, StringComparison.Ordinal);
            Assert.Contains("\"pending\":\"42.00\"", walletAfter, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static async Task<(string Checkout, string Wallet, string Ledger)> SnapshotAsync(TestServer server, string checkoutId, string orderId, string seller)
    {
        var merchant = server.CreateClient();
        var operatorClient = server.CreateClient(TestServer.OperatorKey);
        var checkout = await merchant.GetJsonAsync($"/v1/checkouts/{checkoutId}");
        var wallet = await merchant.GetJsonAsync($"/v1/sellers/{seller}/wallet");
        var ledger = await operatorClient.GetJsonAsync($"/v1/ledger/transactions?payment_order_id={orderId}");
        return (checkout.ToString(), wallet.ToString(), ledger.ToString());
    }
}
