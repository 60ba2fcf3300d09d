using Npgsql;

namespace Payments.Reconciliation.Runs;

/// <summary>
/// An uploaded file on its way in: the run row and the staged lines in one open transaction. Disposing without
/// <see cref="CommitAsync"/> rolls both back, so a malformed file, or a request whose idempotency key replays an
/// earlier answer, leaves nothing behind.
/// </summary>
public sealed class RunUpload(NpgsqlConnection connection, NpgsqlTransaction transaction, string runId, string source) : IAsyncDisposable
{
    public string RunId { get; } = runId;

    public string Source { get; } = source;

    /// <summary>Stages the file; the run's date becomes the one the file speaks of.</summary>
    public async Task<long> StageAsync(Stream file, string ownBankAccount, CancellationToken cancellationToken)
    {
        var (lines, date) = await RunFiles.StageAsync(connection, RunId, Source, file, ownBankAccount, cancellationToken);
        await ReconciliationRunStore.MoveOnAsync(connection, transaction, RunId, RunStages.Fetching, RunStages.Matching, lines, matched: null, cancellationToken, date);
        return lines;
    }

    public Task CommitAsync(CancellationToken cancellationToken) => transaction.CommitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}
