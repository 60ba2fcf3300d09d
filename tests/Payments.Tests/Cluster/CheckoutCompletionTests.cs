using Payments.Core.Checkout;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Cluster;

/// <summary>
/// <c>checkout.completed</c> is owed once every order has told its checkout that it is final, and an order tells again until
/// its telling is answered. So a telling that fails part-way must leave the checkout as if it never heard it, and a checkout
/// whose orders may be charged must never be undone.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CheckoutCompletionTests(ClusterFixture fixture)
{
    private static readonly Currency Usd = Currency.Get("USD");

    private IGrainFactory Grains => fixture.Cluster.GrainFactory;

    [Fact]
    public async Task The_last_order_telling_again_after_the_checkout_could_not_read_its_orders_completes_the_checkout()
    {
        var (checkoutId, first, last) = (Ids.New("chk"), Ids.New("po"), Ids.New("po"));
        var checkout = Grains.GetGrain<ICheckoutGrain>(checkoutId);
        // Orders that wait for the buyer tell their checkout nothing on their own: the test tells for them, when it chooses.
        var created = await checkout.CreateAsync(new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_authenticationRequired"),
            [new CheckoutOrderLine(first, Ids.New("seller"), new Money(1_000, Usd)), new CheckoutOrderLine(last, Ids.New("seller"), new Money(2_000, Usd))],
            TimeSpan.FromSeconds(10)));
        Assert.All(created.Checkout!.Orders, order => Assert.Equal(PaymentOrderStatus.RequiresAction, order.Status));
        await checkout.OrderFinishedAsync(first);

        // The last word makes the completion, whose data is the checkout as its orders show it; one of them cannot be reached
        // (as when its silo was just killed), so the telling fails and the order will tell again.
        using (InjectedCallFailures.Fail(Grains.GetGrain<IPaymentOrderGrain>(first).GetGrainId(), nameof(IPaymentOrderGrain.GetAsync)))
        {
            await Assert.ThrowsAsync<SiloUnavailableException>(() => checkout.OrderFinishedAsync(last));
        }

        Assert.Equal(0L, await CompletedEventsAsync(checkoutId));

        // Told again, the checkout completes: it answers only once the event is in the log, since the order stops telling then.
        await checkout.OrderFinishedAsync(last);
        Assert.Equal(1L, await CompletedEventsAsync(checkoutId));
    }

    [Fact]
    public async Task A_retried_checkout_that_cannot_reach_its_order_leaves_the_checkout_to_complete()
    {
        var (checkoutId, orderId) = (Ids.New("chk"), Ids.New("po"));
        var checkout = Grains.GetGrain<ICheckoutGrain>(checkoutId);
        var command = new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_authenticationRequired"),
            [new CheckoutOrderLine(orderId, Ids.New("seller"), new Money(1_500, Usd))], TimeSpan.FromSeconds(10));
        var created = await checkout.CreateAsync(command);
        Assert.Equal(PaymentOrderStatus.RequiresAction, Assert.Single(created.Checkout!.Orders).Status);

        // The gateway sends the creation again (its first answer was lost with a silo), and the order cannot be reached, as
        // when its silo has just died: the retry fails.
        using (InjectedCallFailures.Fail(Grains.GetGrain<IPaymentOrderGrain>(orderId).GetGrainId(), nameof(IPaymentOrderGrain.CreateAsync)))
        {
            await Assert.ThrowsAsync<SiloUnavailableException>(() => checkout.CreateAsync(command));
        }

        // The order was started (the PSP has it), so its checkout stays, and completes once the order tells it it is final.
        Assert.NotNull(await checkout.GetAsync());
        await checkout.OrderFinishedAsync(orderId);
        Assert.Equal(1L, await CompletedEventsAsync(checkoutId));
    }

    [Fact]
    public async Task The_last_order_telling_again_and_again_leaves_one_completion_in_the_log_and_the_checkout_unwritten()
    {
        var (checkoutId, orderId) = (Ids.New("chk"), Ids.New("po"));
        var checkout = Grains.GetGrain<ICheckoutGrain>(checkoutId);
        var created = await checkout.CreateAsync(new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_authenticationRequired"),
            [new CheckoutOrderLine(orderId, Ids.New("seller"), new Money(1_250, Usd))], TimeSpan.FromSeconds(10)));
        Assert.Equal(PaymentOrderStatus.RequiresAction, Assert.Single(created.Checkout!.Orders).Status);
        var versionBefore = await CheckoutVersionAsync(checkoutId);

        // The order tells until it hears the answer: twice here, then once more to a new activation (as after a crash).
        await checkout.OrderFinishedAsync(orderId);
        await checkout.OrderFinishedAsync(orderId);
        await fixture.Cluster.DeactivateAsync(checkout);
        await checkout.OrderFinishedAsync(orderId);

        Assert.Equal(1L, await CompletedEventsAsync(checkoutId));
        await using var command = fixture.Database.CreateCommand("SELECT event_id FROM events WHERE type = 'checkout.completed' AND ordering_key = $1");
        command.Parameters.AddWithValue(checkoutId);
        Assert.Equal(Payments.Grains.Checkout.CheckoutGrain.CompletionEventId("merchant_a", checkoutId), (string)(await command.ExecuteScalarAsync())!);
        Assert.Equal(2, versionBefore);
        Assert.Equal(versionBefore, await CheckoutVersionAsync(checkoutId));
    }

    [Fact]
    public async Task Two_orders_telling_at_once_and_again_leave_one_completion_and_one_stored_word()
    {
        var (checkoutId, first, second) = (Ids.New("chk"), Ids.New("po"), Ids.New("po"));
        var checkout = Grains.GetGrain<ICheckoutGrain>(checkoutId);
        await checkout.CreateAsync(new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_authenticationRequired"),
            [new CheckoutOrderLine(first, Ids.New("seller"), new Money(700, Usd)), new CheckoutOrderLine(second, Ids.New("seller"), new Money(800, Usd))],
            TimeSpan.FromSeconds(10)));

        await Task.WhenAll(checkout.OrderFinishedAsync(first), checkout.OrderFinishedAsync(second));
        await fixture.Cluster.DeactivateAsync(checkout);
        await Task.WhenAll(checkout.OrderFinishedAsync(first), checkout.OrderFinishedAsync(second));

        // Creation is two writes, the first word one more; the last word and every word again write nothing.
        Assert.Equal(1L, await CompletedEventsAsync(checkoutId));
        Assert.Equal(3, await CheckoutVersionAsync(checkoutId));
    }

    [Fact]
    public void The_completion_id_is_the_same_in_every_build()
    {
        // A fixed value: silos of different builds must write the same id, so that the log keeps one completion.
        Assert.Equal("evt_6ec0244c31ec8a42e7acab65a658138c", Payments.Grains.Checkout.CheckoutGrain.CompletionEventId("merchant_a", "chk_fixed_1"));
    }

    /// <summary>How often the checkout's row was written: its creation is two writes (pending, then done).</summary>
    private async Task<int> CheckoutVersionAsync(string checkoutId)
    {
        await using var command = fixture.Database.CreateCommand("SELECT version FROM orleans_grain_state WHERE grain_type = 'checkout' AND grain_id_ext = $1");
        command.Parameters.AddWithValue(checkoutId);
        return (int)(await command.ExecuteScalarAsync())!;
    }

    private async Task<long> CompletedEventsAsync(string checkoutId)
    {
        await using var command = fixture.Database.CreateCommand("SELECT count(*) FROM events WHERE type = 'checkout.completed' AND ordering_key = $1");
        command.Parameters.AddWithValue(checkoutId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
