using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Payments.Database.Batching;

/// <summary>
/// Group commit. Statements from many callers (grains writing their state, reading it, registering reminders) queue
/// here; a few loops take whatever has queued while the previous group was on its way and send it as one batch: one
/// round trip and one implicit transaction, so one commit (and one WAL flush) carries many callers' writes. Each
/// caller still awaits its own statement, and learns of success only after that commit.
/// <para>
/// A statement that fails in the database (a trigger refusing a row, a constraint) rolls its whole group back. The
/// group is then run again one statement at a time, so only the statement at fault fails and the others commit as if
/// they had been sent alone. A lost connection fails every statement of the group: none knows whether it committed,
/// exactly as when it is sent on its own.
/// </para>
/// </summary>
public sealed class StatementQueue : IAsyncDisposable
{
    private readonly Channel<QueuedStatement> _queue = Channel.CreateUnbounded<QueuedStatement>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly NpgsqlDataSource _dataSource;
    private readonly int _groupSizeMax;
    private readonly ILogger _logger;
    private readonly Task[] _loops;
    private readonly Func<QueuedStatement, string>? _lockOrder;

    /// <param name="loops">Groups in flight at once: while one waits for its commit the next is being gathered and sent.</param>
    /// <param name="lockOrder">
    /// For statements that take locks: a group is sent sorted by this key (stably), so that any two groups take their
    /// locks in the same order and never wait for each other in a circle.
    /// </param>
    public StatementQueue(NpgsqlDataSource dataSource, int groupSizeMax, int loops, ILogger logger, Func<QueuedStatement, string>? lockOrder = null)
    {
        _lockOrder = lockOrder;
        ArgumentOutOfRangeException.ThrowIfLessThan(groupSizeMax, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(loops, 1);
        _dataSource = dataSource;
        _groupSizeMax = groupSizeMax;
        _logger = logger;
        // Not under the creator's context: the loops serve every caller, and would otherwise hang all their database
        // spans under whichever grain call first asked for the queue.
        using (ExecutionContext.SuppressFlow())
        {
            _loops = Enumerable.Range(0, loops).Select(_ => Task.Run(RunAsync)).ToArray();
        }
    }

    private long _groups;
    private long _statements;

    /// <summary>
    /// Groups sent so far, and the statements they carried: how a test sees that statements were grouped. Nothing exports
    /// them as metrics yet.
    /// </summary>
    public long Groups => Interlocked.Read(ref _groups);

    public long Statements => Interlocked.Read(ref _statements);

    /// <summary>Queues the statement and returns its <see cref="QueuedStatement.Done"/>.</summary>
    public Task EnqueueAsync(QueuedStatement statement)
    {
        if (!_queue.Writer.TryWrite(statement))
        {
            statement.Fail(new ObjectDisposedException(nameof(StatementQueue), "The statement queue is shut down."));
        }

        return statement.Done;
    }

    private async Task RunAsync()
    {
        var group = new List<QueuedStatement>(_groupSizeMax);
        while (await _queue.Reader.WaitToReadAsync())
        {
            group.Clear();
            while (group.Count < _groupSizeMax && _queue.Reader.TryRead(out var statement))
            {
                group.Add(statement);
            }

            if (group.Count > 1 && _lockOrder is not null)
            {
                var sorted = group.OrderBy(_lockOrder, StringComparer.Ordinal).ToArray();
                group.Clear();
                group.AddRange(sorted);
            }

            if (group.Count > 0)
            {
                await RunGroupAsync(group);
            }
        }
    }

    private async Task RunGroupAsync(List<QueuedStatement> group)
    {
        Interlocked.Increment(ref _groups);
        Interlocked.Add(ref _statements, group.Count);
        try
        {
            await ExecuteAsync(group);
        }
        catch (PostgresException exception) when (group.Count > 1 && exception.InvariantSeverity == "ERROR")
        {
            // An ERROR (not FATAL: the connection lived on) proves the implicit transaction rolled back, so sending each
            // statement again cannot apply one twice. Anything else leaves the outcome unknown and fails the group.
            // One statement failed and took the group with it: find it by sending each alone.
            _logger.LogDebug(exception, "A group of {Count} statements failed; running them one by one", group.Count);
            foreach (var statement in group)
            {
                await RunAloneAsync(statement);
            }

            return;
        }
        catch (Exception exception)
        {
            foreach (var statement in group)
            {
                statement.Fail(exception);
            }

            return;
        }

        foreach (var statement in group)
        {
            statement.Succeed();
        }
    }

    private async Task RunAloneAsync(QueuedStatement statement)
    {
        try
        {
            await ExecuteAsync([statement]);
            statement.Succeed();
        }
        catch (Exception exception)
        {
            statement.Fail(exception);
        }
    }

    private async Task ExecuteAsync(IReadOnlyList<QueuedStatement> group)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        // No explicit transaction: a batch without one is a single implicit transaction, all or nothing, committed by
        // the batch's own end: no BEGIN/COMMIT round trips.
        await using var batch = new NpgsqlBatch(connection);
        var sent = new List<QueuedStatement>(group.Count);
        foreach (var statement in group)
        {
            try
            {
                var commands = statement.Commands().ToArray();
                foreach (var command in commands)
                {
                    batch.BatchCommands.Add(command);
                }

                sent.Add(statement);
            }
            catch (Exception exception) when (exception is not NpgsqlException)
            {
                // A statement that cannot even be written (a payload never rendered) fails alone, before anything is sent.
                statement.Fail(exception);
            }
        }

        if (sent.Count == 0)
        {
            return;
        }

        // A result a statement cannot read does not stop the others': the batch commits all the same.
        var unreadable = new Dictionary<QueuedStatement, Exception>();
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            for (var i = 0; i < sent.Count; i++)
            {
                if (i > 0 && !await reader.NextResultAsync())
                {
                    throw new InvalidOperationException($"Statement {i} of a group returned no result set.");
                }

                try
                {
                    await sent[i].ReadAsync(reader, CancellationToken.None);
                }
                catch (Exception exception) when (exception is not NpgsqlException)
                {
                    unreadable[sent[i]] = exception;
                }
            }

            // Reading to the end surfaces an error of the implicit commit rather than leaving it to the dispose.
            while (await reader.NextResultAsync())
            {
            }
        }

        foreach (var (statement, exception) in unreadable)
        {
            // Committed, but its answer is lost: the caller must treat it as it treats a lost connection.
            statement.Fail(new InvalidOperationException("The statement committed but its result could not be read.", exception));
        }
    }

    /// <summary>Lets the queued statements finish, then stops the loops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops);
    }
}
