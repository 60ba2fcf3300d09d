using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Ledger;

/// <summary>
/// A server of its own: the conflicting booking this collection plants is never resolved (the ledger is append-only), so its
/// order stays parked with effects owed, which the shared server's invariant checks would rightly report.
/// </summary>
[CollectionDefinition(Name)]
public sealed class LedgerDedupCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "ledger-dedup";
}

/// <summary>
/// An external id booked already is a retry only when the content is the same (kind, payment order, entries); the id reused
/// with other content is refused, counted and logged, writes nothing, and is never marked applied by an outbox.
/// </summary>
[Collection(LedgerDedupCollection.Name)]
public sealed class LedgerDedupTests : IDisposable
{
    private static readonly Currency Usd = Currency.Get("USD");

    private readonly ServerFixture _fixture;
    private readonly ConcurrentDictionary<string, long> _conflicts = new(StringComparer.Ordinal);
    private readonly MeterListener _listener;

    public LedgerDedupTests(ServerFixture fixture)
    {
        _fixture = fixture;
        _listener = Listen();
    }

    private IGrainFactory Grains => _fixture.Server.Server.Services.GetRequiredService<IGrainFactory>();

    [Fact]
    public async Task The_same_id_with_the_same_content_is_already_exists_and_booked_once()
    {
        var (externalId, kind, orderId) = (Ids.New("dedup"), Ids.New("kind"), Ids.New("po"));
        var writer = Writer(externalId);
        var booked = LedgerTransaction.Transfer(externalId, kind, orderId, "pi_first", "acct_a", "acct_b", new Money(1_234, Usd));
        // The same movement, its entries listed the other way round and a PSP reference learnt since: still a retry.
        var retried = booked with { PspReference = "pi_learnt_later", Entries = [booked.Entries[1], booked.Entries[0]] };

        var first = await writer.AppendAsync(booked);
        var again = await writer.AppendAsync(booked);
        var reordered = await writer.AppendAsync(retried);

        Assert.Equal(new AppendResult(AppendOutcome.Appended), first);
        Assert.Equal(new AppendResult(AppendOutcome.AlreadyExists), again);
        Assert.Equal(new AppendResult(AppendOutcome.AlreadyExists), reordered);
        Assert.Equal(["debit acct_a 1234 USD pi_first", "credit acct_b 1234 USD pi_first"], await StoredAsync(externalId));
        Assert.Equal(0, _conflicts.GetValueOrDefault(kind));
    }

    [Fact]
    public async Task The_same_id_with_other_content_is_a_conflict_that_writes_nothing_and_is_counted()
    {
        var (externalId, kind, otherKind, orderId) = (Ids.New("dedup"), Ids.New("kind"), Ids.New("kind"), Ids.New("po"));
        var writer = Writer(externalId);
        var booked = LedgerTransaction.Transfer(externalId, kind, orderId, "pi_first", "acct_a", "acct_b", new Money(1_234, Usd));
        Assert.Equal(AppendOutcome.Appended, (await writer.AppendAsync(booked)).Outcome);
        LedgerTransaction[] others =
        [
            LedgerTransaction.Transfer(externalId, kind, orderId, "pi_first", "acct_a", "acct_b", new Money(1_235, Usd)),
            LedgerTransaction.Transfer(externalId, kind, orderId, "pi_first", "acct_a", "acct_c", new Money(1_234, Usd)),
            LedgerTransaction.Transfer(externalId, kind, orderId, "pi_first", "acct_b", "acct_a", new Money(1_234, Usd)),
            LedgerTransaction.Transfer(externalId, kind, orderId, "pi_first", "acct_a", "acct_b", new Money(1_234, Currency.Get("EUR"))),
            LedgerTransaction.Transfer(externalId, kind, Ids.New("po"), "pi_first", "acct_a", "acct_b", new Money(1_234, Usd)),
            LedgerTransaction.Transfer(externalId, kind, paymentOrderId: null, "pi_first", "acct_a", "acct_b", new Money(1_234, Usd)),
            LedgerTransaction.Transfer(externalId, otherKind, orderId, "pi_first", "acct_a", "acct_b", new Money(1_234, Usd)),
            // One entry more (split in two), balanced all the same.
            booked with { Entries = [booked.Entries[0], new LedgerEntry("acct_b", EntryDirection.Credit, new Money(1_000, Usd)), new LedgerEntry("acct_b", EntryDirection.Credit, new Money(234, Usd))] },
        ];

        var results = new List<AppendResult>();
        foreach (var other in others)
        {
            results.Add(await writer.AppendAsync(other));
        }

        var stored = $"kind={kind} payment_order={orderId} psp_reference=pi_first entries=[debit acct_a 1234 USD; credit acct_b 1234 USD]";
        Assert.All(results, result => Assert.Equal(new AppendResult(AppendOutcome.ExistsWithDifferentContent, stored), result));
        Assert.Equal(["debit acct_a 1234 USD pi_first", "credit acct_b 1234 USD pi_first"], await StoredAsync(externalId));
        Assert.Equal((7L, 1L), (_conflicts.GetValueOrDefault(kind), _conflicts.GetValueOrDefault(otherKind)));
    }

    [Fact]
    public async Task A_batch_of_new_retried_and_conflicting_appends_answers_each_on_its_own()
    {
        var kind = Ids.New("kind");
        var writer = Grains.GetGrain<ILedgerWriterGrain>(2);
        var existing = Enumerable.Range(0, 10).Select(i => LedgerTransaction.Transfer(Ids.New("dedup"), kind, null, null, "acct_a", "acct_b", new Money(100 + i, Usd))).ToArray();
        await Task.WhenAll(existing.Select(writer.AppendAsync));
        var fresh = Enumerable.Range(0, 10).Select(_ => LedgerTransaction.Transfer(Ids.New("dedup"), kind, null, null, "acct_a", "acct_b", new Money(7, Usd))).ToArray();
        var conflicting = existing.Select(transaction => LedgerTransaction.Transfer(transaction.ExternalId, kind, null, null, "acct_a", "acct_b", new Money(1, Usd))).ToArray();

        // Started together, so that the reentrant writer batches them.
        var answers = await Task.WhenAll(fresh.Concat(existing).Concat(conflicting).Select(writer.AppendAsync));

        Assert.Equal(
            Enumerable.Repeat(AppendOutcome.Appended, 10).Concat(Enumerable.Repeat(AppendOutcome.AlreadyExists, 10)).Concat(Enumerable.Repeat(AppendOutcome.ExistsWithDifferentContent, 10)),
            answers.Select(answer => answer.Outcome));
        Assert.Equal(10, _conflicts.GetValueOrDefault(kind));
        foreach (var (transaction, i) in existing.Select((transaction, i) => (transaction, i)))
        {
            Assert.Equal([$"debit acct_a {100 + i} USD -", $"credit acct_b {100 + i} USD -"], await StoredAsync(transaction.ExternalId));
        }
    }

    [Fact]
    public async Task An_order_whose_pay_in_id_is_booked_with_another_amount_is_not_marked_booked_and_is_parked()
    {
        var (orderId, seller) = (Ids.New("po"), Ids.New("seller"));
        var pending = LedgerAccounts.SellerPending(seller);
        // Someone booked payin:<po> before the order paid, for 1.00 instead of 19.99.
        await ExecuteAsync($"""
            WITH booked AS (INSERT INTO ledger_transactions (external_id, kind, payment_order_id) VALUES ('payin:{orderId}', 'payin', '{orderId}') RETURNING transaction_id)
            INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency)
            SELECT transaction_id, account, direction, 100, 'USD' FROM booked, (VALUES ('psp_receivable:stripe', 'debit'), ('{pending}', 'credit')) AS entry(account, direction)
            """);
        using var merchant = _fixture.Server.CreateClient();
        using var operatorClient = _fixture.Server.CreateClient(TestServer.OperatorKey);

        using var created = await merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, seller, "19.99", "USD")), Ids.New("key"));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var parked = await Eventually.MatchesAsync(() => operatorClient.DeadLetterAsync(orderId), row => row is not null, TimeSpan.FromSeconds(30), $"{orderId} to be parked");
        var order = await Grains.GetGrain<IPaymentOrderGrain>(orderId).GetAsync();
        Assert.Equal((PaymentOrderStatus.Success, true, false, true), (order!.Status, order.WalletUpdated, order.LedgerUpdated, order.DeadLettered));
        Assert.Equal("effects", parked!.Value.Str("stage"));
        Assert.Equal(
            $"LedgerConflictException: ledger transaction payin:{orderId} is booked already with other content (kind=payin payment_order={orderId} psp_reference=- entries=[debit psp_receivable:stripe 100 USD; credit {pending} 100 USD]); nothing was written",
            parked.Value.Str("last_error"));
        // Every attempt was refused and counted, and the ledger still holds only what was there.
        Assert.Equal(parked.Value.GetProperty("attempts").GetInt32(), _conflicts.GetValueOrDefault("payin"));
        Assert.Equal(["debit psp_receivable:stripe 100 USD -", $"credit {pending} 100 USD -"], await StoredAsync($"payin:{orderId}"));
    }

    public void Dispose() => _listener.Dispose();

    private ILedgerWriterGrain Writer(string externalId) => Grains.GetGrain<ILedgerWriterGrain>(LedgerAccounts.WriterShardFor(externalId));

    private MeterListener Listen()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, meterListener) =>
            {
                if (instrument is { Name: "payments.ledger.conflicts", Meter.Name: "Payments" })
                {
                    meterListener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "kind")
                {
                    _conflicts.AddOrUpdate((string)tag.Value!, value, (_, sum) => sum + value);
                }
            }
        });
        listener.Start();
        return listener;
    }

    /// <summary>The stored entries of one transaction, in the order written: direction, account, amount, currency, PSP reference.</summary>
    private async Task<string[]> StoredAsync(string externalId)
    {
        await using var connection = new NpgsqlConnection(_fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT e.direction || ' ' || e.account || ' ' || e.amount || ' ' || e.currency || ' ' || coalesce(t.psp_reference, '-')
            FROM ledger_transactions t JOIN ledger_entries e USING (transaction_id) WHERE t.external_id = $1 ORDER BY e.entry_id
            """, connection);
        command.Parameters.AddWithValue(externalId);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return [.. rows];
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
