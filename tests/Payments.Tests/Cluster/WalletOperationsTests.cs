using Npgsql;
using Payments.Core.Money;
using Payments.Core.Wallets;
using Payments.Grains.Wallets;
using Payments.Tests.Infrastructure;
using Payments.Tests.Unit.Storage;

namespace Payments.Tests.Cluster;

/// <summary>
/// A wallet records each operation it applies as a row of grain_operations, written by the statement that writes its
/// balances, so its state stays its balances however busy it is, and a retry is known from the table for good. Every call
/// that repeats one is made to a fresh activation, which knows the operation from the table alone.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class WalletOperationsTests(ClusterFixture fixture)
{
    private static readonly Currency Usd = Currency.Get("USD");

    [Fact]
    public async Task A_credit_is_recorded_beside_the_wallet_and_sent_again_to_a_fresh_activation_changes_nothing()
    {
        var seller = Ids.New("seller");
        var wallet = Wallet(seller);
        var credit = new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(1_000, Usd));

        var first = await wallet.CreditPendingAsync(credit);
        await fixture.Cluster.DeactivateAsync(wallet);
        var again = await wallet.CreditPendingAsync(credit);

        Assert.Equal(WalletOperationOutcome.Applied, first.Outcome);
        Assert.Equal(WalletOperationOutcome.AlreadyApplied, again.Outcome);
        Assert.Equal([credit.OperationId], await RecordedAsync(seller));
        var (stored, version) = await StoredAsync(seller);
        Assert.Equal(1, version);
        Assert.Empty(stored.AppliedOperations);
        Assert.Equal((1_000L, 0L), (stored.Balances["USD"].Pending, stored.Balances["USD"].Available));
    }

    [Fact]
    public async Task A_retried_move_its_buckets_no_longer_cover_is_answered_as_applied_and_a_settled_reservation_is_never_made_again()
    {
        var seller = Ids.New("seller");
        var wallet = Wallet(seller);
        await wallet.CreditPendingAsync(new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(500, Usd)));
        var fulfil = new MoveFunds(Ids.New("op"), new Money(500, Usd), WalletBucket.Pending, WalletBucket.Available);
        await wallet.MoveAsync(fulfil);
        var payoutId = Ids.New("payout");
        await wallet.ReserveAsync(new ReserveFunds(payoutId, "USD", AmountMinor: null));
        var paid = new MoveFunds(Ids.New("op"), new Money(500, Usd), WalletBucket.Reserved, WalletBucket.PaidOut, ReleasesReservation: payoutId);
        await wallet.MoveAsync(paid);
        await fixture.Cluster.DeactivateAsync(wallet);

        // Pending holds nothing and the reservation is gone: without the table both would be refused as bugs.
        Assert.Equal(WalletOperationOutcome.AlreadyApplied, (await wallet.MoveAsync(fulfil)).Outcome);
        Assert.Equal(WalletOperationOutcome.AlreadyApplied, (await wallet.MoveAsync(paid)).Outcome);
        // The settled payout asking to reserve again is a bug, whether nothing is available or enough is.
        var withNothing = await Assert.ThrowsAsync<InvalidOperationException>(() => wallet.ReserveAsync(new ReserveFunds(payoutId, "USD", AmountMinor: null)));
        await wallet.CreditPendingAsync(new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(300, Usd)));
        await wallet.MoveAsync(new MoveFunds(Ids.New("op"), new Money(300, Usd), WalletBucket.Pending, WalletBucket.Available));
        var withEnough = await Assert.ThrowsAsync<InvalidOperationException>(() => wallet.ReserveAsync(new ReserveFunds(payoutId, "USD", 300)));
        Assert.Contains("is settled already", withNothing.Message);
        Assert.Contains("is settled already", withEnough.Message);

        await fixture.Cluster.DeactivateAsync(wallet);
        var balance = Assert.Single((await wallet.GetAsync()).Balances);
        Assert.Equal((0L, 300L, 0L, 500L), (balance.PendingMinor, balance.AvailableMinor, balance.ReservedMinor, balance.PaidOutMinor));
        // The six operations applied; the refused reservations recorded nothing.
        Assert.Equal(6, (await RecordedAsync(seller)).Count);
    }

    [Fact]
    public async Task Operation_ids_an_earlier_build_kept_in_the_state_still_count_and_move_to_the_table_with_the_next_write()
    {
        var seller = Ids.New("seller");
        var wallet = Wallet(seller);
        var first = new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(1_000, Usd));
        await wallet.CreditPendingAsync(first);
        // As an earlier build stored it: an applied id kept in the state, which the table has never seen.
        var legacy = new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(250, Usd));
        await fixture.Cluster.DeactivateAsync(wallet);
        await RewriteStoredAsync(seller, state =>
        {
            state.AppliedOperations.Add(legacy.OperationId);
            state.ForgettableSince[legacy.OperationId] = DateTimeOffset.UtcNow;
        });

        var legacyAgain = await wallet.CreditPendingAsync(legacy);
        var second = await wallet.CreditPendingAsync(new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(40, Usd)));
        await fixture.Cluster.DeactivateAsync(wallet);
        var legacyOnceMore = await wallet.CreditPendingAsync(legacy);

        Assert.Equal(WalletOperationOutcome.AlreadyApplied, legacyAgain.Outcome);
        Assert.Equal(WalletOperationOutcome.Applied, second.Outcome);
        Assert.Equal(WalletOperationOutcome.AlreadyApplied, legacyOnceMore.Outcome);
        Assert.Contains(legacy.OperationId, await RecordedAsync(seller));
        Assert.Equal(3, (await RecordedAsync(seller)).Count);
        var (stored, _) = await StoredAsync(seller);
        Assert.Empty(stored.AppliedOperations);
        Assert.Empty(stored.ForgettableSince);
        Assert.Equal(1_040L, stored.Balances["USD"].Pending);
    }

    [Fact]
    public async Task A_refused_wallet_write_records_no_operation_and_the_retry_applies_it_once()
    {
        var seller = Ids.New("seller");
        var wallet = Wallet(seller);
        await wallet.ClaimAsync(new ClaimSeller("merchant_a"));
        var credit = new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(1_234, Usd));
        await using (await InjectedFailures.RejectGrainStateWritesAsync(fixture.Database.ConnectionString, seller))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => wallet.CreditPendingAsync(credit));
            Assert.Empty(await RecordedAsync(seller));
        }

        Assert.Equal(WalletOperationOutcome.Applied, (await wallet.CreditPendingAsync(credit)).Outcome);
        Assert.Equal(WalletOperationOutcome.AlreadyApplied, (await wallet.CreditPendingAsync(credit)).Outcome);
        Assert.Equal([credit.OperationId], await RecordedAsync(seller));
        var (stored, version) = await StoredAsync(seller);
        Assert.Equal((1_234L, 2), (stored.Balances["USD"].Pending, version));
    }

    [Fact]
    public async Task A_wallet_activation_another_write_has_overtaken_records_nothing_and_learns_it_is_stale_even_for_a_retry()
    {
        var seller = Ids.New("seller");
        var wallet = Wallet(seller);
        var first = new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(1_000, Usd));
        await wallet.CreditPendingAsync(first);
        var second = new CreditPendingFunds(Ids.New("op"), "merchant_a", new Money(70, Usd));

        // As if another activation had written the wallet since: this one holds version 1, the row is at 2.
        await BumpVersionAsync(seller);
        await Assert.ThrowsAnyAsync<Exception>(() => wallet.CreditPendingAsync(second));
        Assert.Equal([first.OperationId], await RecordedAsync(seller));

        // The failed activation is gone: a fresh one answers the retry from the table.
        Assert.Equal(WalletOperationOutcome.AlreadyApplied, (await wallet.CreditPendingAsync(first)).Outcome);
        // A retry reaching a stale activation fails as any of its writes would, rather than be answered from stale balances.
        await BumpVersionAsync(seller);
        await Assert.ThrowsAnyAsync<Exception>(() => wallet.CreditPendingAsync(first));

        Assert.Equal(WalletOperationOutcome.Applied, (await wallet.CreditPendingAsync(second)).Outcome);
        Assert.Equal(WalletOperationOutcome.AlreadyApplied, (await wallet.CreditPendingAsync(first)).Outcome);
        var (stored, version) = await StoredAsync(seller);
        Assert.Equal((1_070L, 4), (stored.Balances["USD"].Pending, version));
        Assert.Equal(2, (await RecordedAsync(seller)).Count);
    }

    private async Task BumpVersionAsync(string seller)
    {
        await using var command = fixture.Database.CreateCommand("UPDATE orleans_grain_state SET version = version + 1 WHERE grain_type = 'wallet' AND grain_id_ext = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = seller });
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private ISellerWalletGrain Wallet(string seller) => fixture.Cluster.Client.GetGrain<ISellerWalletGrain>(seller);

    private async Task<List<string>> RecordedAsync(string seller)
    {
        await using var command = fixture.Database.CreateCommand(
            "SELECT operation_id FROM grain_operations WHERE grain_type = 'wallet' AND grain_key = $1 ORDER BY operation_id");
        command.Parameters.Add(new NpgsqlParameter { Value = seller });
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private async Task<(SellerWalletState State, int Version)> StoredAsync(string seller)
    {
        await using var command = fixture.Database.CreateCommand(
            "SELECT payload, version FROM orleans_grain_state WHERE grain_type = 'wallet' AND grain_id_ext = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = seller });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"no stored wallet for {seller}");
        return (StateSerializers.Storage().Deserialize<SellerWalletState>(reader.GetFieldValue<byte[]>(0))!, reader.GetInt32(1));
    }

    /// <summary>Changes the stored wallet in place, as another build's write would have left it (the version unchanged).</summary>
    private async Task RewriteStoredAsync(string seller, Action<SellerWalletState> change)
    {
        var (state, _) = await StoredAsync(seller);
        change(state);
        await using var command = fixture.Database.CreateCommand("UPDATE orleans_grain_state SET payload = $2 WHERE grain_type = 'wallet' AND grain_id_ext = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = seller });
        command.Parameters.Add(new NpgsqlParameter { Value = StateSerializers.Storage().Serialize(state) });
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }
}
