using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Payments.Grains.PaymentOrders;
using Payments.Grains.Storage;
using Payments.Tests.Infrastructure;
using Payments.Tests.Unit.PaymentOrders;
using Payments.Tests.Unit.Storage;

namespace Payments.Tests.Database;

/// <summary>
/// The wake-up stored beside a grain's state (sql/0011): written by the statement that writes the state, read back with it,
/// dropped with a cleared state, never part of the payload; and the sweep's reading of the due ones, by reason, shard and
/// time, page after page. Each test has a service id of its own, so the server's grains never show up in it.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class DurableWakeUpTests(ServerFixture fixture) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new DateTimeOffset(2026, 12, 2, 9, 30, 15, TimeSpan.Zero).AddTicks(1234567);
    private readonly string _serviceId = "wake-test-" + Guid.NewGuid().ToString("N")[..12];
    private NpgsqlDataSource _database = null!;
    private GrainStateQueues _queues = null!;

    public Task InitializeAsync()
    {
        _database = NpgsqlDataSource.Create(fixture.Server.Server.DatabaseConnectionString);
        _queues = new GrainStateQueues(_database, NullLoggerFactory.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _queues.DisposeAsync();
        await using (var delete = _database.CreateCommand("DELETE FROM orleans_grain_state WHERE service_id = $1"))
        {
            delete.Parameters.Add(new NpgsqlParameter { Value = _serviceId });
            await delete.ExecuteNonQueryAsync();
        }

        await _database.DisposeAsync();
    }

    [Fact]
    public async Task A_wake_up_is_written_and_read_with_the_state_outside_its_payload_and_goes_with_a_clear()
    {
        var storage = Storage();
        var grainId = GrainId.Create("paymentorder", "po_wake_1");
        var written = new GrainState<PaymentOrderState>(OrderFixtures.NewTokenOrder());
        var payloadWithout = StateSerializers.Storage().Serialize(written.State);
        SetWakeUp(written, new DurableWakeUp(At, DurableWakeUp.Drive));

        await storage.WriteStateAsync(PaymentOrderGrain.StateName, grainId, written);

        Assert.Equal(payloadWithout, StateSerializers.Storage().Serialize(written.State));
        Assert.Equal(Columns(DurableWakeUp.Drive, At.AddTicks(-7)), await ColumnsAsync("po_wake_1"));
        var read = new GrainState<PaymentOrderState>();
        await storage.ReadStateAsync(PaymentOrderGrain.StateName, grainId, read);
        // To the microsecond, as stored: what the grain wants and what it reads back compare equal, so it does not write again.
        Assert.Equal(new DurableWakeUp(At, DurableWakeUp.Drive), WakeUpOf(read));
        Assert.Equal(At.AddTicks(-7), WakeUpOf(read)!.At);

        SetWakeUp(read, null);
        await storage.WriteStateAsync(PaymentOrderGrain.StateName, grainId, read);
        Assert.Equal((null, null), await ColumnsAsync("po_wake_1"));

        SetWakeUp(read, new DurableWakeUp(At, DurableWakeUp.AutoFulfill));
        await storage.WriteStateAsync(PaymentOrderGrain.StateName, grainId, read);
        Assert.Equal(Columns(DurableWakeUp.AutoFulfill, At.AddTicks(-7)), await ColumnsAsync("po_wake_1"));
        await storage.ClearStateAsync(PaymentOrderGrain.StateName, grainId, read);
        Assert.Equal((null, null), await ColumnsAsync("po_wake_1"));
        await storage.ReadStateAsync(PaymentOrderGrain.StateName, grainId, read);
        Assert.Null(WakeUpOf(read));
    }

    [Fact]
    public async Task The_sweep_reads_the_due_wake_ups_of_one_reason_and_shard_oldest_first_page_after_page()
    {
        var storage = Storage();
        var due = new Dictionary<string, (string Reason, DateTimeOffset At)>();
        for (var i = 0; i < 40; i++)
        {
            // Every fourth an id Orleans takes for a number ('12') or a Guid (32 hex digits): it keeps no key extension, and
            // the sweep must still find it by the key the grain has.
            var key = (i % 4) switch { 1 => $"{i}", 3 => $"{i:D32}", _ => $"po_sweep_{i:D2}" };
            var wakeUp = new DurableWakeUp(At.AddSeconds(i % 10 - 5), i % 3 == 0 ? DurableWakeUp.AutoFulfill : DurableWakeUp.Drive);
            var state = new GrainState<PaymentOrderState>(OrderFixtures.NewTokenOrder());
            SetWakeUp(state, wakeUp);
            await storage.WriteStateAsync(PaymentOrderGrain.StateName, GrainId.Create("paymentorder", key), state);
            due[key] = (wakeUp.Reason, wakeUp.At);
        }

        await using (var withoutExtension = _database.CreateCommand("SELECT count(*) FROM orleans_grain_state WHERE service_id = $1 AND grain_id_ext IS NULL"))
        {
            withoutExtension.Parameters.Add(new NpgsqlParameter { Value = _serviceId });
            Assert.Equal(20L, await withoutExtension.ExecuteScalarAsync());
        }

        var sweep = new WakeUpSweep(_database, Options.Create(new ClusterOptions { ServiceId = _serviceId }));
        var found = new List<DueWakeUp>();
        for (var shard = 0; shard < 3; shard++)
        {
            DueWakeUp? after = null;
            while (true)
            {
                var page = await sweep.DuePageAsync(PaymentOrderGrain.StateName, DurableWakeUp.Drive, At, shard, shards: 3, after, limit: 4);
                Assert.Equal(page.OrderBy(wakeUp => wakeUp.At).ThenBy(wakeUp => wakeUp.GrainKey, StringComparer.Ordinal), page);
                found.AddRange(page);
                if (page.Count < 4)
                {
                    break;
                }

                after = page[^1];
            }
        }

        // Each due drive wake-up exactly once (shards split them, pages do not repeat them); none due later, none of another reason.
        var expected = due.Where(entry => entry.Value.Reason == DurableWakeUp.Drive && entry.Value.At <= At).Select(entry => entry.Key).Order().ToArray();
        Assert.Equal(expected, found.Select(wakeUp => wakeUp.GrainKey).Order().ToArray());
        Assert.Equal(16, expected.Length);
        Assert.Contains("13", expected);
        Assert.Contains($"{23:D32}", expected);
        Assert.Empty(await sweep.DuePageAsync(PaymentOrderGrain.StateName, DurableWakeUp.Drive, At.AddSeconds(-6), 0, 1, null, 100));
        Assert.Equal(8, (await sweep.DuePageAsync(PaymentOrderGrain.StateName, DurableWakeUp.AutoFulfill, At, 0, 1, null, 100)).Count);
    }

    private PostgresGrainStorage Storage()
    {
        var services = new ServiceCollection().AddSerializer(serializer => serializer.AddAssembly(typeof(GrainStateSerializer).Assembly)).BuildServiceProvider();
        return new PostgresGrainStorage(_queues, StateSerializers.Storage(), services.GetRequiredService<IActivatorProvider>(),
            Options.Create(new ClusterOptions { ServiceId = _serviceId }), NullLogger<PostgresGrainStorage>.Instance);
    }

    private static DurableWakeUp? WakeUpOf(IGrainState<PaymentOrderState> state) => ((IHasDurableWakeUp)state.State!).WakeUp;

    private static void SetWakeUp(IGrainState<PaymentOrderState> state, DurableWakeUp? wakeUp) => ((IHasDurableWakeUp)state.State!).WakeUp = wakeUp;

    private static (string? Reason, DateTimeOffset? At) Columns(string reason, DateTimeOffset at) => (reason, at);

    private async Task<(string? Reason, DateTimeOffset? At)> ColumnsAsync(string key)
    {
        await using var command = _database.CreateCommand("SELECT wake_reason, wake_at FROM orleans_grain_state WHERE service_id = $1 AND grain_id_ext = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = _serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
    }
}
