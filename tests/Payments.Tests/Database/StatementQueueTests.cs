using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Payments.Database.Batching;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Database;

/// <summary>
/// Group commit (<see cref="StatementQueue"/>): statements queued together commit in one group, each caller hears of its
/// own statement, and one that fails in the database fails alone. The queue's loop is held on an advisory lock the test
/// owns, so that everything queued meanwhile is one group, whatever the machine's speed.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class StatementQueueTests(ServerFixture fixture) : IAsyncLifetime
{
    private const long HoldKey = 7_333_001;
    private readonly string _table = "queue_test_" + Guid.NewGuid().ToString("N")[..12];
    private NpgsqlDataSource _database = null!;

    public async Task InitializeAsync()
    {
        _database = NpgsqlDataSource.Create(fixture.Server.Server.DatabaseConnectionString);
        await using var create = _database.CreateCommand($"CREATE TABLE {_table} (id integer PRIMARY KEY, amount bigint NOT NULL CHECK (amount >= 0))");
        await create.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        await using (var drop = _database.CreateCommand($"DROP TABLE {_table}"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Statements_queued_together_commit_as_one_group_and_each_caller_gets_its_own_answer()
    {
        await using var queue = new StatementQueue(_database, groupSizeMax: 100, loops: 1, NullLogger.Instance);
        var inserts = Enumerable.Range(1, 20).Select(id => new Insert(_table, id, id * 100L)).ToArray();

        var held = await QueueBehindHeldLockAsync(queue, inserts);

        Assert.All(held, done => Assert.True(done.IsCompletedSuccessfully));
        Assert.Equal(Enumerable.Range(1, 20).Select(id => (long?)(id * 100L)), inserts.Select(insert => insert.Stored));
        // The holder went alone; the twenty queued behind it went together.
        Assert.Equal(2, queue.Groups);
        Assert.Equal(21, queue.Statements);
        Assert.Equal(20, await CountAsync());
        Assert.Equal(21_000, await SumAsync());
    }

    [Fact]
    public async Task A_statement_the_database_refuses_fails_alone_and_its_group_commits_without_it()
    {
        await using var queue = new StatementQueue(_database, groupSizeMax: 100, loops: 1, NullLogger.Instance);
        // The fourth breaks the CHECK constraint: the group is rolled back and sent again one statement at a time.
        var inserts = new[] { new Insert(_table, 1, 100), new Insert(_table, 2, 200), new Insert(_table, 3, 300), new Insert(_table, 4, -1), new Insert(_table, 5, 500) };

        await QueueBehindHeldLockAsync(queue, inserts);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => inserts[3].Done);
        Assert.Equal(PostgresErrorCodes.CheckViolation, refused.SqlState);
        Assert.All(inserts.Where((_, index) => index != 3), insert => Assert.True(insert.Done.IsCompletedSuccessfully));
        Assert.Equal(4, await CountAsync());
        Assert.Equal(1_100, await SumAsync());
    }

    [Fact]
    public async Task Statements_queued_after_shutdown_fail_and_those_queued_before_it_commit()
    {
        var queue = new StatementQueue(_database, groupSizeMax: 100, loops: 2, NullLogger.Instance);
        var before = new Insert(_table, 1, 100);
        var done = queue.EnqueueAsync(before);

        await queue.DisposeAsync();
        var after = new Insert(_table, 2, 200);

        await done;
        await Assert.ThrowsAsync<ObjectDisposedException>(() => queue.EnqueueAsync(after));
        Assert.Equal(1, await CountAsync());
    }

    /// <summary>Holds the queue's only loop on a lock, queues the statements, lets go, and waits for all of them.</summary>
    private async Task<Task[]> QueueBehindHeldLockAsync(StatementQueue queue, IReadOnlyList<QueuedStatement> statements)
    {
        await using var holder = await _database.OpenConnectionAsync();
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({HoldKey})", holder))
        {
            await take.ExecuteNonQueryAsync();
        }

        var waiting = new WaitForLock(HoldKey);
        var blocked = queue.EnqueueAsync(waiting);
        await Eventually.MatchesAsync(() => IsWaitingForLockAsync(holder), waiting => waiting, TimeSpan.FromSeconds(30), "the queue's loop waiting on the lock");
        var done = statements.Select(queue.EnqueueAsync).ToArray();
        await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({HoldKey})", holder))
        {
            await release.ExecuteNonQueryAsync();
        }

        await blocked;
        await Task.WhenAll(done.Select(task => task.ContinueWith(_ => { }, TaskScheduler.Default)));
        return done;
    }

    private static async Task<bool> IsWaitingForLockAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", connection);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }

    private async Task<long> CountAsync()
    {
        await using var command = _database.CreateCommand($"SELECT count(*) FROM {_table}");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<long> SumAsync()
    {
        await using var command = _database.CreateCommand($"SELECT coalesce(sum(amount), 0)::bigint FROM {_table}");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private sealed class Insert(string table, int id, long amount) : QueuedStatement
    {
        public long? Stored { get; private set; }

        public override IEnumerable<NpgsqlBatchCommand> Commands()
        {
            var command = new NpgsqlBatchCommand($"INSERT INTO {table} (id, amount) VALUES ($1, $2) RETURNING amount");
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = id });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = amount });
            return [command];
        }

        public override async Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
        {
            await reader.ReadAsync(cancellationToken);
            Stored = reader.GetInt64(0);
        }
    }

    private sealed class WaitForLock(long key) : QueuedStatement
    {
        public override IEnumerable<NpgsqlBatchCommand> Commands()
        {
            // Transaction-scoped: released by the group's own commit.
            return [new NpgsqlBatchCommand($"SELECT pg_advisory_xact_lock({key})")];
        }

        public override Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
