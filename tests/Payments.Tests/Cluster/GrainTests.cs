using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Payments.Core.Checkout;
using Payments.Core.Idempotency;
using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Core.Wallets;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class GrainTests(ClusterFixture fixture)
{
    private static readonly Currency Usd = Currency.Get("USD");

    private IGrainFactory Grains => fixture.Cluster.GrainFactory;

    [Fact]
    public async Task Cluster_membership_lives_in_postgresql()
    {
        await using var command = fixture.Database.CreateCommand("SELECT count(*) FROM orleans_membership WHERE status = 3");
        var activeSilos = (long)(await command.ExecuteScalarAsync())!;

        Assert.Equal(2L, activeSilos);
    }

    [Fact]
    public async Task A_payment_order_charges_once_and_applies_its_effects_once_however_often_it_is_driven()
    {
        var (checkoutId, orderId, seller) = (Ids.New("chk"), Ids.New("po"), Ids.New("seller"));
        var amount = new Money(2_500, Usd);

        var created = await Grains.GetGrain<ICheckoutGrain>(checkoutId).CreateAsync(new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_visa"),
            [new CheckoutOrderLine(orderId, seller, amount)], TimeSpan.FromSeconds(20)));
        var again = await Grains.GetGrain<IPaymentOrderGrain>(orderId).ExecuteAsync();

        Assert.Equal(CreateCheckoutOutcome.Created, created.Outcome);
        Assert.Equal(CheckoutStatus.Succeeded, created.Checkout!.Status);
        Assert.Equal(PaymentOrderStatus.Success, again.Status);
        Assert.Equal(1, again.Attempts);
        Assert.True(again.WalletUpdated && again.LedgerUpdated);
        var wallet = await Grains.GetGrain<ISellerWalletGrain>(seller).GetAsync();
        Assert.Equal(2_500, Assert.Single(wallet.Balances).PendingMinor);
        Assert.Equal(1, await PaymentIntentCountAsync(orderId));
        await using var ledger = fixture.Database.CreateCommand($"SELECT count(*) FROM ledger_transactions WHERE payment_order_id = '{orderId}'");
        Assert.Equal(1L, (long)(await ledger.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task An_order_is_created_started_and_a_paid_token_order_is_written_three_times()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        var order = Grains.GetGrain<IPaymentOrderGrain>(orderId);

        // Created alone (no checkout executes it): started in its create write, awaiting its checkout, the PSP unasked.
        await order.CreateAsync(new CreatePaymentOrder("merchant_a", Ids.New("chk"), seller, new Money(1_100, Usd), PaymentMethod.ForToken("pm_card_visa"), "buyer_1"));
        var createdRow = await OrderRowAsync(orderId);
        var created = await order.GetAsync();
        var (paidId, paidSeller) = (Ids.New("po"), Ids.New("seller"));
        await Grains.GetGrain<ICheckoutGrain>(Ids.New("chk")).CreateAsync(new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_visa"),
            [new CheckoutOrderLine(paidId, paidSeller, new Money(1_200, Usd))], TimeSpan.FromSeconds(20)));

        Assert.Equal((1, "drive"), createdRow);
        Assert.Equal(PaymentOrderStatus.Executing, created!.Status);
        Assert.Equal(1, created.Attempts);
        Assert.Equal(0, await PaymentIntentCountAsync(orderId));
        // Create (started, its first attempt on record), SUCCESS, then the effects' flags with the auto-fulfillment wake-up.
        Assert.Equal((3, "auto_fulfill"), await OrderRowAsync(paidId));
        Assert.Equal(1, await PaymentIntentCountAsync(paidId));
    }

    [Fact]
    public async Task An_order_whose_write_after_its_first_call_fails_counts_each_attempt_again_and_is_charged_once()
    {
        var (checkoutId, orderId) = (Ids.New("chk"), Ids.New("po"));
        var order = Grains.GetGrain<IPaymentOrderGrain>(orderId);
        var attemptsWhileRefused = new List<int>();
        // Only the SUCCESS write holds the owed payment_order.succeeded: refused, the order stays as its create write left it.
        await using (await InjectedFailures.RejectGrainStateWritesAsync(fixture.Database.ConnectionString, orderId, payloadContains: "payment_order.succeeded"))
        {
            await Grains.GetGrain<ICheckoutGrain>(checkoutId).CreateAsync(new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_visa"),
                [new CheckoutOrderLine(orderId, Ids.New("seller"), new Money(1_300, Usd))], TimeSpan.FromSeconds(1)));
            attemptsWhileRefused.Add((await order.GetAsync())!.Attempts);
            for (var wake = 0; wake < 2; wake++)
            {
                // The sweep's call, to an activation that cannot know whether the first attempt went out.
                await Assert.ThrowsAnyAsync<Exception>(() => order.WakeAsync());
                attemptsWhileRefused.Add((await order.GetAsync())!.Attempts);
            }
        }

        await order.WakeAsync();
        var paid = (await order.GetAsync())!;

        // Each activation after the first (this test's wakes, and the sweep's every 2 s) counted and stored its attempt before
        // sending it: the count grows with every wake, so the budget holds over a crash loop.
        Assert.True(attemptsWhileRefused[0] >= 1 && attemptsWhileRefused[1] > attemptsWhileRefused[0] && attemptsWhileRefused[2] > attemptsWhileRefused[1],
            $"attempts while the write was refused: {string.Join(", ", attemptsWhileRefused)}");
        Assert.Equal(PaymentOrderStatus.Success, paid.Status);
        Assert.True(paid.Attempts > attemptsWhileRefused[2], $"{paid.Attempts} attempts after {attemptsWhileRefused[2]}");
        Assert.True(paid.WalletUpdated && paid.LedgerUpdated);
        Assert.Equal(1, await PaymentIntentCountAsync(orderId));
    }

    private async Task<(int Version, string? WakeReason)> OrderRowAsync(string orderId)
    {
        await using var command = fixture.Database.CreateCommand("SELECT version, wake_reason FROM orleans_grain_state WHERE grain_type = 'paymentOrder' AND wake_key = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = orderId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"no row for {orderId}");
        return (reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    [Fact]
    public async Task A_payment_order_survives_deactivation_with_its_state_from_postgresql()
    {
        var (checkoutId, orderId) = (Ids.New("chk"), Ids.New("po"));
        await Grains.GetGrain<ICheckoutGrain>(checkoutId).CreateAsync(new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_chargeDeclined"),
            [new CheckoutOrderLine(orderId, Ids.New("seller"), new Money(100, Usd))], TimeSpan.FromSeconds(20)));

        await Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var reloaded = await Grains.GetGrain<IPaymentOrderGrain>(orderId).GetAsync();

        Assert.NotNull(reloaded);
        Assert.Equal(PaymentOrderStatus.Failed, reloaded.Status);
        Assert.Equal("card_declined", reloaded.Failure!.Code);
        Assert.Equal([PaymentOrderStatus.NotStarted, PaymentOrderStatus.Executing, PaymentOrderStatus.Failed], reloaded.History.Select(entry => entry.Status));
    }

    [Fact]
    public async Task A_wallet_applies_an_operation_once()
    {
        var wallet = Grains.GetGrain<ISellerWalletGrain>(Ids.New("seller"));
        var credit = new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(1_000, Usd));

        var first = await wallet.CreditPendingAsync(credit);
        var second = await wallet.CreditPendingAsync(credit);

        Assert.Equal(WalletOperationOutcome.Applied, first.Outcome);
        Assert.Equal(WalletOperationOutcome.AlreadyApplied, second.Outcome);
        Assert.Equal(1_000, Assert.Single((await wallet.GetAsync()).Balances).PendingMinor);
    }

    [Fact]
    public async Task A_wallet_refuses_a_debit_beyond_its_pending_funds_without_taking_it_for_applied()
    {
        var wallet = Grains.GetGrain<ISellerWalletGrain>(Ids.New("seller"));
        await wallet.CreditPendingAsync(new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(500, Usd)));
        var debit = new MoveFunds(Ids.New("op"), new Money(800, Usd), From: WalletBucket.Pending, To: null);

        await Assert.ThrowsAsync<InvalidOperationException>(() => wallet.MoveAsync(debit));
        Assert.Equal(500, Assert.Single((await wallet.GetAsync()).Balances).PendingMinor);

        // Once the credit it waited for has landed, the same debit goes through: the refusal was not recorded as applied.
        await wallet.CreditPendingAsync(new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(300, Usd)));
        Assert.Equal(WalletOperationOutcome.Applied, (await wallet.MoveAsync(debit)).Outcome);
        Assert.Equal(0, Assert.Single((await wallet.GetAsync()).Balances).PendingMinor);
    }

    [Fact]
    public async Task A_wallet_refuses_a_reservation_beyond_its_available_funds_as_a_result_and_changes_nothing()
    {
        var wallet = Grains.GetGrain<ISellerWalletGrain>(Ids.New("seller"));
        await wallet.CreditPendingAsync(new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(1_000, Usd)));
        await wallet.MoveAsync(new MoveFunds(Ids.New("op"), new Money(700, Usd), WalletBucket.Pending, WalletBucket.Available));
        var payoutId = Ids.New("payout");

        var tooMuch = await wallet.ReserveAsync(new ReserveFunds(payoutId, "USD", 701));
        var all = await wallet.ReserveAsync(new ReserveFunds(payoutId, "USD", AmountMinor: null));
        var again = await wallet.ReserveAsync(new ReserveFunds(payoutId, "USD", AmountMinor: null));
        var nothingLeft = await wallet.ReserveAsync(new ReserveFunds(Ids.New("payout"), "USD", AmountMinor: null));

        Assert.Equal((ReserveFundsOutcome.InsufficientFunds, 0L, 700L), (tooMuch.Outcome, tooMuch.AmountMinor, tooMuch.AvailableMinor));
        Assert.Equal((ReserveFundsOutcome.Reserved, 700L, 0L), (all.Outcome, all.AmountMinor, all.AvailableMinor));
        Assert.Equal((ReserveFundsOutcome.AlreadyReserved, 700L), (again.Outcome, again.AmountMinor));
        Assert.Equal(ReserveFundsOutcome.InsufficientFunds, nothingLeft.Outcome);
        var balance = Assert.Single((await wallet.GetAsync()).Balances);
        Assert.Equal((300L, 0L, 700L, 0L), (balance.PendingMinor, balance.AvailableMinor, balance.ReservedMinor, balance.PaidOutMinor));

        // The payout is paid: its reservation settles into paid out.
        await wallet.MoveAsync(new MoveFunds(Ids.New("op"), new Money(700, Usd), WalletBucket.Reserved, WalletBucket.PaidOut, ReleasesReservation: payoutId));
        balance = Assert.Single((await wallet.GetAsync()).Balances);
        Assert.Equal((300L, 0L, 0L, 700L), (balance.PendingMinor, balance.AvailableMinor, balance.ReservedMinor, balance.PaidOutMinor));
    }

    [Fact]
    public async Task The_ledger_writer_books_a_retried_append_once_and_batches_concurrent_ones()
    {
        var writer = Grains.GetGrain<ILedgerWriterGrain>(0);
        var transactions = Enumerable.Range(0, 40).Select(_ => Transaction(Ids.New("test"), 300)).ToArray();

        var results = await Task.WhenAll(transactions.Select(writer.AppendAsync));
        var retried = await writer.AppendAsync(transactions[0]);

        Assert.All(results, result => Assert.Equal(AppendOutcome.Appended, result.Outcome));
        Assert.Equal(AppendOutcome.AlreadyExists, retried.Outcome);
        var ids = string.Join(",", transactions.Select(transaction => $"'{transaction.ExternalId}'"));
        await using var count = fixture.Database.CreateCommand($"SELECT count(*), sum(e.amount) FROM ledger_transactions t JOIN ledger_entries e USING (transaction_id) WHERE t.external_id IN ({ids})");
        await using var reader = await count.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(80L, reader.GetInt64(0));
        Assert.Equal(40L * 600, reader.GetInt64(1));
    }

    [Fact]
    public async Task The_ledger_writer_refuses_an_unbalanced_transaction_without_touching_others()
    {
        var writer = Grains.GetGrain<ILedgerWriterGrain>(1);
        var unbalanced = new LedgerTransaction(Ids.New("test"), "test", null, null,
        [
            new LedgerEntry("a", EntryDirection.Debit, new Money(100, Usd)),
            new LedgerEntry("b", EntryDirection.Credit, new Money(99, Usd)),
        ]);

        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.AppendAsync(unbalanced));
        Assert.Equal(AppendOutcome.Appended, (await writer.AppendAsync(Transaction(Ids.New("test"), 5))).Outcome);
    }

    [Fact]
    public async Task An_idempotency_key_locks_replays_and_refuses_another_request()
    {
        var key = Grains.GetGrain<IIdempotencyKeyGrain>(IdempotencyKeys.GrainKey("merchant_a", Ids.New("key")));
        var lockTimeout = TimeSpan.FromMinutes(1);

        var started = await key.BeginAsync(new BeginRequest("fp-1", lockTimeout));
        var whileRunning = await key.BeginAsync(new BeginRequest("fp-1", lockTimeout));
        var other = await key.BeginAsync(new BeginRequest("fp-2", lockTimeout));
        await key.CompleteAsync(new CompleteRequest(started.LockToken!, new StoredResponse(201, "application/json", [1, 2, 3], null)));
        var replay = await key.BeginAsync(new BeginRequest("fp-1", lockTimeout));

        Assert.Equal(BeginRequestOutcome.Started, started.Outcome);
        Assert.Equal(BeginRequestOutcome.InProgress, whileRunning.Outcome);
        Assert.NotNull(whileRunning.RetryAfter);
        Assert.Equal(BeginRequestOutcome.FingerprintMismatch, other.Outcome);
        Assert.Equal(BeginRequestOutcome.Completed, replay.Outcome);
        Assert.Equal([1, 2, 3], replay.Response!.Body);
    }

    [Fact]
    public async Task A_begin_repeated_by_the_same_request_holds_the_lock_it_took_and_another_request_still_waits()
    {
        var key = Grains.GetGrain<IIdempotencyKeyGrain>(IdempotencyKeys.GrainKey("merchant_a", Ids.New("key")));
        var lockTimeout = TimeSpan.FromMinutes(1);

        var first = await key.BeginAsync(new BeginRequest("fp-1", lockTimeout, "request-1"));
        var askedAgain = await key.BeginAsync(new BeginRequest("fp-1", lockTimeout, "request-1"));
        var anotherRequest = await key.BeginAsync(new BeginRequest("fp-1", lockTimeout, "request-2"));
        await key.CompleteAsync(new CompleteRequest(askedAgain.LockToken!, new StoredResponse(201, "application/json", [7], null)));
        var afterwards = await key.BeginAsync(new BeginRequest("fp-1", lockTimeout, "request-1"));

        Assert.Equal((BeginRequestOutcome.Started, "request-1"), (first.Outcome, first.LockToken));
        Assert.Equal((BeginRequestOutcome.Started, "request-1"), (askedAgain.Outcome, askedAgain.LockToken));
        Assert.Equal(BeginRequestOutcome.InProgress, anotherRequest.Outcome);
        Assert.Equal(BeginRequestOutcome.Completed, afterwards.Outcome);
        Assert.Equal([7], afterwards.Response!.Body);
    }

    [Fact]
    public async Task A_lock_left_by_a_dead_request_expires_and_the_presumed_dead_request_can_no_longer_touch_the_key()
    {
        var key = Grains.GetGrain<IIdempotencyKeyGrain>(IdempotencyKeys.GrainKey("merchant_a", Ids.New("key")));

        var first = await key.BeginAsync(new BeginRequest("fp-1", TimeSpan.FromMinutes(1)));
        var takenOver = await key.BeginAsync(new BeginRequest("fp-1", TimeSpan.Zero));
        await key.AbandonAsync(first.LockToken!);
        await key.CompleteAsync(new CompleteRequest(takenOver.LockToken!, new StoredResponse(201, "application/json", [2], null)));
        await key.CompleteAsync(new CompleteRequest(first.LockToken!, new StoredResponse(500, "application/json", [1], null)));
        var replay = await key.BeginAsync(new BeginRequest("fp-1", TimeSpan.FromMinutes(1)));

        Assert.Equal(BeginRequestOutcome.Started, takenOver.Outcome);
        Assert.NotEqual(first.LockToken, takenOver.LockToken);
        Assert.Equal(BeginRequestOutcome.Completed, replay.Outcome);
        Assert.Equal(201, replay.Response!.StatusCode);
        Assert.Equal([2], replay.Response.Body);
    }

    private static LedgerTransaction Transaction(string externalId, long minor) => new(externalId, "test", null, null,
    [
        new LedgerEntry("test:debit", EntryDirection.Debit, new Money(minor, Usd)),
        new LedgerEntry("test:credit", EntryDirection.Credit, new Money(minor, Usd)),
    ]);

    private async Task<int> PaymentIntentCountAsync(string paymentOrderId)
    {
        using var psp = new HttpClient { BaseAddress = fixture.PspAddress };
        var intents = await psp.GetFromJsonAsync<JsonElement>("/_sim/payment_intents");
        return intents.EnumerateArray().Count(intent => intent.GetProperty("idempotency_key").GetString() == paymentOrderId);
    }
}
