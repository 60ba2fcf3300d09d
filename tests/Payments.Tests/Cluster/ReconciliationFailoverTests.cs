using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Runtime.Messaging;
using Payments.Core.Checkout;
using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;
using Payments.Core.Reconciliation;
using Payments.Reconciliation;
using Payments.Reconciliation.Runs;
using Payments.Tests.Infrastructure;
using Payments.Tests.Reconciliation;
using Stripe;
using PaymentMethod = Payments.Core.PaymentOrders.PaymentMethod;

namespace Payments.Tests.Cluster;

/// <summary>
/// A reconciliation run whose silo dies in the middle of matching is resumed by the reminder on the surviving silo and
/// finishes there: the matching that died committed nothing, the one that finished filed each break once and booked the
/// PSP's payout once, and a rerun of the day changes neither.
/// </summary>
[Collection(FailoverClusterCollection.Name)]
public sealed class ReconciliationFailoverTests(FailoverClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_run_killed_mid_matching_finishes_on_another_silo_filing_its_breaks_once_and_booking_the_settlement_once()
    {
        var cluster = fixture.Cluster;
        // Other tests of the collection kill silos too: this one needs two, and leaves two behind.
        await EnsureTwoSilosAsync();
        try
        {
            foreach (var silo in cluster.GetActiveSilos())
            {
                var options = cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<IOptions<ReconciliationOptions>>().Value;
                Assert.Equal((TimeSpan.FromSeconds(2), false, TimeSpan.FromSeconds(5)), (options.TickPeriod, options.DailyRuns, options.IdleTransactionTimeout));
            }

            var grains = cluster.Client;
            using var psp = new HttpClient { BaseAddress = fixture.PspAddress };
            var stripe = StripeAt(fixture.PspAddress);

            // Three orders of ours, charged and booked; and two charges at the PSP that are none of ours, each a break to
            // INVESTIGATE: one names no order, the other an order we never made (the matching asks that order about it).
            var usd = Currency.Get("USD");
            var orders = new[] { 1_200L, 3_400L, 5_600L }.Select(amount => (Id: Ids.New("po"), Amount: amount)).ToArray();
            foreach (var (orderId, amount) in orders)
            {
                var checkout = grains.GetGrain<ICheckoutGrain>(Ids.New("chk"));
                var created = await UnsentSentAgainAsync(() => checkout.CreateAsync(new CreateCheckout("merchant_a", "buyer_1", PaymentMethod.ForToken("pm_card_visa"),
                    [new CheckoutOrderLine(orderId, Ids.New("seller"), new Money(amount, usd))], TimeSpan.FromSeconds(20))), $"checkout of {orderId}");
                Assert.Equal(CheckoutStatus.Succeeded, created.Checkout!.Status);
            }

            var orderIds = orders.Select(order => order.Id).ToArray();
            await Eventually.MatchesAsync(
                () => ScalarAsync<long>("SELECT count(*) FROM ledger_transactions WHERE external_id = ANY($1)", orderIds.Select(id => "payin:" + id).ToArray()),
                booked => booked == orders.Length, Patience, "the orders' pay-ins to be booked");
            var unknownOrder = Ids.New("po");
            var anonymousIntent = await ChargeAtPspAsync(stripe, 999, paymentOrderId: null);
            var unknownOrderIntent = await ChargeAtPspAsync(stripe, 777, unknownOrder);

            // The day ends: the PSP pays it out, and its report holds the payout beside the rows it carries.
            var day = await psp.PspTodayAsync();
            await psp.EndPspDayAsync();
            var report = await ItemizedAsync(stripe, day);
            var usdPayout = Assert.Single(report, row => row["reporting_category"] == "payout" && row["currency"] == "usd");
            var payoutId = usdPayout["source_id"];
            foreach (var orderId in orderIds)
            {
                var charge = Assert.Single(report, row => row["payment_metadata[payment_order_id]"] == orderId);
                Assert.Equal(("charge", payoutId), (charge["reporting_category"], charge["automatic_payout_id"]));
            }

            var strangers = new[] { (Intent: anonymousIntent, OrderId: (string?)null), (Intent: unknownOrderIntent, OrderId: unknownOrder) }.Select(stranger =>
            {
                var charge = Assert.Single(report, row => row["payment_intent_id"] == stranger.Intent);
                Assert.Equal(("charge", payoutId, stranger.OrderId ?? string.Empty),
                    (charge["reporting_category"], charge["automatic_payout_id"], charge["payment_metadata[payment_order_id]"]));
                return (RecordKey: "txn:" + charge["balance_transaction_id"], stranger.OrderId);
            }).OrderBy(stranger => stranger.RecordKey, StringComparer.Ordinal).ToArray();

            // Hold the table the matching files its breaks in: the run stages the file, commits, matches (and books the
            // settlement, uncommitted), then waits at the end of matching.
            var reconciler = grains.GetGrain<IReconcilerGrain>(ReconciliationSources.Psp);
            await using var locker = await fixture.Database.OpenConnectionAsync();
            await using var hold = await locker.BeginTransactionAsync();
            await using (var lockTable = new NpgsqlCommand("LOCK TABLE reconciliation_breaks IN SHARE ROW EXCLUSIVE MODE", locker, hold))
            {
                await lockTable.ExecuteNonQueryAsync();
            }

            var runId = await UnsentSentAgainAsync(() => reconciler.StartRunAsync(day, "operator"), "the run to start");
            var waiting = await Eventually.MatchesAsync(() => BlockedMatchingAsync(runId, locker.ProcessID),
                found => found is { Stage: "matching", Status: "RUNNING", Pids.Length: 1 }, Patience, $"run {runId} to wait in matching on the lock");
            var blockedPid = waiting.Pids[0];

            // Its silo dies. A real crash closes the connection; the in-process silo's would wait on, so the test ends it.
            var management = grains.GetGrain<IManagementGrain>(0);
            var victim = await ReadThroughFailoverAsync<SiloAddress?>(async () => await management.GetActivationAddress(reconciler), "where the reconciler lives")
                ?? throw new InvalidOperationException("the psp reconciler is not active");
            await cluster.KillSiloAsync(cluster.GetSiloForAddress(victim) ?? throw new InvalidOperationException($"no silo {victim}"));
            await using (var terminate = fixture.Database.CreateCommand("SELECT pg_terminate_backend($1)"))
            {
                terminate.Parameters.Add(new NpgsqlParameter { Value = blockedPid });
                await terminate.ExecuteNonQueryAsync();
            }

            await Eventually.MatchesAsync(() => ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", blockedPid),
                left => left == 0, Patience, $"the killed silo's backend {blockedPid} to end");
            var interrupted = await ReadRunAsync(runId);
            Assert.Equal(("RUNNING", "matching", 0L), (interrupted.Status, interrupted.Stage, interrupted.Matched));
            await hold.RollbackAsync();

            // The surviving silo's reminder takes the run up again from matching, and it finishes there.
            var run = await Eventually.MatchesAsync(() => ReadRunAsync(runId), found => found.Status != "RUNNING", Patience, $"run {runId} to finish on the surviving silo");
            Assert.Equal(("SUCCEEDED", "done"), (run.Status, run.Stage));
            Assert.True(run.Attempts >= 2, $"run {runId} was attempted {run.Attempts} time(s)");
            Assert.Equal(report.Count, run.Lines);
            Assert.Equal(run.Lines - strangers.Length, run.Matched);
            var host = await ReadThroughFailoverAsync<SiloAddress?>(async () => await management.GetActivationAddress(reconciler), "where the reconciler lives now");
            Assert.NotNull(host);
            Assert.NotEqual(victim, host);
            Assert.Contains(host, cluster.GetActiveSilos().Select(silo => silo.SiloAddress));

            // A break for each stranger's charge, filed by this run once; none about our orders.
            var filed = (await RunBreaksAsync(runId)).OrderBy(filing => filing.RecordKey, StringComparer.Ordinal).ToList();
            Assert.Equal(
                strangers.Select(stranger => ("missing_in_ledger", "INVESTIGATE", stranger.RecordKey, runId, stranger.OrderId)),
                filed.Select(filing => (filing.Kind, filing.Class, filing.RecordKey, filing.FiledBy, filing.PaymentOrderId)));
            Assert.Equal((long)strangers.Length,
                await ScalarAsync<long>("SELECT count(*) FROM reconciliation_breaks WHERE record_key = ANY($1)", strangers.Select(stranger => stranger.RecordKey).ToArray()));
            Assert.Equal((long)strangers.Length, await ScalarAsync<long>("SELECT count(*) FROM reconciliation_breaks WHERE run_id = $1", runId));
            Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM reconciliation_breaks WHERE payment_order_id = ANY($1)", orderIds));

            // Every payout of the day booked as our settlement once; the USD one with the payout's amount into cash.
            var payouts = await PayoutsOfRunAsync(runId);
            Assert.Contains(payoutId, payouts);
            foreach (var payout in payouts)
            {
                Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM ledger_transactions WHERE external_id = $1", "settlement:" + payout));
            }

            var settlement = await SettlementEntriesAsync(payoutId);
            var cash = Assert.Single(settlement, entry => entry.Account == LedgerAccounts.Cash(LedgerAccounts.PlatformBank));
            Assert.Equal(("debit", -Minor(usdPayout["gross"])), (cash.Direction, cash.Amount));
            Assert.Equal(settlement.Where(entry => entry.Direction == "debit").Sum(entry => entry.Amount), settlement.Where(entry => entry.Direction == "credit").Sum(entry => entry.Amount));

            // The same day again: it finds the breaks again, files nothing new, books nothing again.
            var breaksBefore = await ScalarAsync<long>("SELECT count(*) FROM reconciliation_breaks");
            var rerunId = await UnsentSentAgainAsync(() => reconciler.StartRunAsync(day, "operator"), "the rerun to start");
            var rerun = await Eventually.MatchesAsync(() => ReadRunAsync(rerunId), found => found.Status != "RUNNING", Patience, $"rerun {rerunId} to finish");
            Assert.Equal(("SUCCEEDED", "done", 1), (rerun.Status, rerun.Stage, rerun.Attempts));
            Assert.Equal((run.Lines, run.Matched), (rerun.Lines, rerun.Matched));
            var foundAgain = (await RunBreaksAsync(rerunId)).OrderBy(filing => filing.RecordKey, StringComparer.Ordinal).ToList();
            Assert.Equal(filed.Select(filing => (filing.BreakId, runId)), foundAgain.Select(filing => (filing.BreakId, filing.FiledBy)));
            Assert.Equal(breaksBefore, await ScalarAsync<long>("SELECT count(*) FROM reconciliation_breaks"));
            Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM ledger_transactions WHERE external_id = $1", "settlement:" + payoutId));
            Assert.Equal(settlement, await SettlementEntriesAsync(payoutId));
        }
        finally
        {
            await EnsureTwoSilosAsync();
        }
    }

    /// <summary>
    /// For a while after a silo dies the client may still pick its gateway: a call that could not even be sent is sent
    /// again (it did nothing, so this is safe for any call); any other failure is the test's.
    /// </summary>
    private static async Task<T> UnsentSentAgainAsync<T>(Func<Task<T>> call, string what) =>
        (await Eventually.MatchesAsync(
            async () =>
            {
                try
                {
                    return (Sent: true, Value: await call());
                }
                catch (ConnectionFailedException)
                {
                    return (Sent: false, Value: default(T)!);
                }
            },
            result => result.Sent, Patience, $"{what} (the client still sends through the killed silo's gateway)")).Value;

    /// <summary>A read after a silo died: until the cluster has caught up, a failure to reach it is "not yet".</summary>
    private static async Task<T> ReadThroughFailoverAsync<T>(Func<Task<T>> read, string what) =>
        (await Eventually.MatchesAsync(
            async () =>
            {
                try
                {
                    return (Read: true, Value: await read());
                }
                catch (Exception exception) when (exception is OrleansException or TimeoutException)
                {
                    return (Read: false, Value: default(T)!);
                }
            },
            result => result.Read, Patience, what)).Value;

    private async Task EnsureTwoSilosAsync()
    {
        while (fixture.Cluster.GetActiveSilos().Count() < 2)
        {
            await fixture.Cluster.StartAdditionalSiloAsync();
        }
    }

    /// <summary>One value of a query with at most one parameter (<c>$1</c>; an array goes whole, as one parameter).</summary>
    private async Task<T> ScalarAsync<T>(string sql, object? parameter = null)
    {
        await using var command = fixture.Database.CreateCommand(sql);
        if (parameter is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    private async Task<RunRow> ReadRunAsync(string runId)
    {
        await using var command = fixture.Database.CreateCommand("SELECT status, stage, attempts, lines, matched FROM reconciliation_runs WHERE run_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"no run {runId}");
        return new RunRow(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4));
    }

    /// <summary>The run's stage, and the backends whose INSERT INTO reconciliation_breaks waits on the test's lock.</summary>
    private async Task<BlockedRun> BlockedMatchingAsync(string runId, int lockHolder)
    {
        await using var command = fixture.Database.CreateCommand("""
            SELECT r.status, r.stage,
                   ARRAY(SELECT a.pid FROM pg_stat_activity a
                         WHERE a.wait_event_type = 'Lock' AND a.query LIKE '%INSERT INTO reconciliation_breaks%'
                           AND $2 = ANY (pg_blocking_pids(a.pid)))
            FROM reconciliation_runs r WHERE r.run_id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = lockHolder });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new BlockedRun(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<int[]>(2))
            : new BlockedRun("none", "none", []);
    }

    private async Task<List<BreakRow>> RunBreaksAsync(string runId)
    {
        await using var command = fixture.Database.CreateCommand("""
            SELECT b.break_id, b.kind, b.class, b.record_key, b.run_id, b.payment_order_id
            FROM reconciliation_run_breaks rb JOIN reconciliation_breaks b USING (break_id)
            WHERE rb.run_id = $1 ORDER BY b.seq
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        await using var reader = await command.ExecuteReaderAsync();
        var breaks = new List<BreakRow>();
        while (await reader.ReadAsync())
        {
            breaks.Add(new BreakRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return breaks;
    }

    private async Task<List<string>> PayoutsOfRunAsync(string runId)
    {
        await using var command = fixture.Database.CreateCommand(
            "SELECT DISTINCT source_id FROM settlement_lines WHERE run_id = $1 AND reporting_category = 'payout' ORDER BY source_id");
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        await using var reader = await command.ExecuteReaderAsync();
        var payouts = new List<string>();
        while (await reader.ReadAsync())
        {
            payouts.Add(reader.GetString(0));
        }

        return payouts;
    }

    private async Task<List<EntryRow>> SettlementEntriesAsync(string payoutId)
    {
        await using var command = fixture.Database.CreateCommand("""
            SELECT e.account, e.direction, e.amount FROM ledger_transactions t JOIN ledger_entries e USING (transaction_id)
            WHERE t.external_id = $1 ORDER BY e.account, e.direction
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = "settlement:" + payoutId });
        await using var reader = await command.ExecuteReaderAsync();
        var entries = new List<EntryRow>();
        while (await reader.ReadAsync())
        {
            entries.Add(new EntryRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }

        return entries;
    }

    /// <summary>A charge made at the PSP directly, not by a payment order of ours; returns its payment intent's id.</summary>
    private static async Task<string> ChargeAtPspAsync(StripeClient stripe, long amount, string? paymentOrderId)
    {
        var intent = await new PaymentIntentService(stripe).CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = amount,
            Currency = "usd",
            PaymentMethod = "pm_card_visa",
            Confirm = true,
            Metadata = paymentOrderId is null ? null : new Dictionary<string, string> { ["payment_order_id"] = paymentOrderId },
        });
        Assert.Equal("succeeded", intent.Status);
        return intent.Id;
    }

    private static StripeClient StripeAt(Uri baseUrl) => SimulatorReports.StripeAt(baseUrl);

    private static async Task<List<Dictionary<string, string>>> ItemizedAsync(StripeClient stripe, DateOnly day) =>
        (await SimulatorReports.ItemizedAsync(stripe, day, days: 1)).Rows;

    /// <summary>A report's amount in minor units (USD: two decimals).</summary>
    private static long Minor(string major) => (long)(decimal.Parse(major, CultureInfo.InvariantCulture) * 100);

    private sealed record RunRow(string Status, string Stage, int Attempts, long Lines, long Matched);

    private sealed record BlockedRun(string Status, string Stage, int[] Pids)
    {
        public override string ToString() => $"{Status}/{Stage}, waiting backends [{string.Join(", ", Pids)}]";
    }

    private sealed record BreakRow(string BreakId, string Kind, string Class, string RecordKey, string FiledBy, string? PaymentOrderId);

    private sealed record EntryRow(string Account, string Direction, long Amount);
}
