using Npgsql;

namespace Payments.Database.Batching;

/// <summary>
/// One statement that waits in a <see cref="StatementQueue"/> to share a round trip and a transaction with the
/// statements queued beside it. Its caller awaits <see cref="Done"/>, which completes only once the group it rode in
/// has committed (or with the failure that stopped it).
/// </summary>
public abstract class QueuedStatement
{
    // Continuations run elsewhere: the queue's loop must not run a grain's code, nor wait for it.
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes after the commit; faults with what kept this statement from committing.</summary>
    public Task Done => _done.Task;

    /// <summary>
    /// The commands this statement adds to the group's batch, run in this order. Each must return a result set (a
    /// SELECT, or a RETURNING), since results are told apart by position.
    /// </summary>
    public abstract IEnumerable<NpgsqlBatchCommand> Commands();

    /// <summary>
    /// Reads this statement's result sets: the reader is positioned at the first, before its first row; a statement
    /// of more than one command moves on to its next ones itself (<see cref="NpgsqlDataReader.NextResultAsync()"/>).
    /// </summary>
    public abstract Task ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken);

    internal void Succeed() => _done.TrySetResult();

    internal void Fail(Exception exception) => _done.TrySetException(exception);
}
