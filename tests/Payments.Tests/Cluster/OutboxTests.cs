using Payments.Core.Checkout;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Core.Wallets;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Cluster;

/// <summary>
/// After SUCCESS the wallet and ledger effects are retried until both are applied, each exactly once, whichever
/// of them fails. The failures are real: the database refuses the write, through a trigger this test installs.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class OutboxTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_failing_ledger_is_retried_until_booked_while_the_wallet_is_credited_once()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        await using (await InjectedFailures.RejectLedgerBookingsAsync(fixture.Database.ConnectionString, orderId))
        {
            var view = await CreateAsync(orderId, seller);
            Assert.Equal(PaymentOrderStatus.Success, view.Status);
            await Eventually.MatchesAsync(() => OrderAsync(orderId), order => order.WalletUpdated && !order.LedgerUpdated, TimeSpan.FromSeconds(20), "the wallet to be credited while the ledger fails");
        }

        var settled = await Eventually.MatchesAsync(() => OrderAsync(orderId), order => order.LedgerUpdated, TimeSpan.FromSeconds(30), "the ledger to be booked once the database accepts it");
        Assert.True(settled.WalletUpdated);
        Assert.Equal(1_999, await StoredPendingAsync(seller));
        Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM ledger_transactions WHERE payment_order_id = '{orderId}'"));
    }

    [Fact]
    public async Task A_failing_wallet_is_retried_until_credited_while_the_ledger_is_booked_once()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        // The seller is the merchant's already (the checkout's claim writes nothing); then the wallet's state
        // writes are refused, and the order's own state (another key) is not.
        await fixture.Cluster.Client.GetGrain<ISellerWalletGrain>(seller).ClaimAsync(new ClaimSeller("merchant_a"));
        await using (await InjectedFailures.RejectGrainStateWritesAsync(fixture.Database.ConnectionString, seller))
        {
            var view = await CreateAsync(orderId, seller);
            Assert.Equal(PaymentOrderStatus.Success, view.Status);
            await Eventually.MatchesAsync(() => OrderAsync(orderId), order => order.LedgerUpdated && !order.WalletUpdated, TimeSpan.FromSeconds(20), "the ledger to be booked while the wallet fails");
        }

        var settled = await Eventually.MatchesAsync(() => OrderAsync(orderId), order => order.WalletUpdated, TimeSpan.FromSeconds(30), "the wallet to be credited once the database accepts it");
        Assert.True(settled.LedgerUpdated);
        Assert.Equal(1_999, await StoredPendingAsync(seller));
        Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM ledger_transactions WHERE payment_order_id = '{orderId}'"));
    }

    private async Task<PaymentOrderView> CreateAsync(string orderId, string seller)
    {
        var result = await fixture.Cluster.Client.GetGrain<ICheckoutGrain>(Ids.New("chk")).CreateAsync(new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_visa"),
            [new CheckoutOrderLine(orderId, seller, new Money(1_999, Currency.Get("USD")))], TimeSpan.FromSeconds(10)));
        return Assert.Single(result.Checkout!.Orders);
    }

    /// <summary>The wallet as stored: deactivated first, so that it is read back from PostgreSQL.</summary>
    private async Task<long> StoredPendingAsync(string seller)
    {
        var wallet = fixture.Cluster.Client.GetGrain<ISellerWalletGrain>(seller);
        await fixture.Cluster.DeactivateAsync(wallet);
        return Assert.Single((await wallet.GetAsync()).Balances).PendingMinor;
    }

    private async Task<PaymentOrderView> OrderAsync(string orderId) =>
        await fixture.Cluster.Client.GetGrain<IPaymentOrderGrain>(orderId).GetAsync() ?? throw new InvalidOperationException($"{orderId} missing");

    private async Task<long> ScalarAsync(string sql)
    {
        await using var command = fixture.Database.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
