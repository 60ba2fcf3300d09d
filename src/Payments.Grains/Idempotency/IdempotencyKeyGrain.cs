using Microsoft.Extensions.Options;
using Orleans.Storage;
using Payments.Core.Idempotency;

namespace Payments.Grains.Idempotency;

/// <summary>
/// The HTTP-level record of one merchant's Idempotency-Key: which request it belongs to, whether that request
/// is running, and the response to replay once it is done. A lock older than its timeout belongs to a request
/// that died: the next caller takes it over (business ids keep the retry from charging twice). A record past its
/// retention (<see cref="IdempotencyOptions.Retention"/>) is treated as absent, whether or not the sweep has deleted it yet.
/// </summary>
[CollectionAgeLimit(Minutes = GrainCollection.OnePerRequestIdleMinutes)]
internal sealed class IdempotencyKeyGrain(
    [PersistentState(IdempotencyKeyGrain.StateName, GrainStorage.Name)] IPersistentState<IdempotencyKeyState> key,
    IOptions<IdempotencyOptions> options,
    TimeProvider time) : Grain, IIdempotencyKeyGrain
{
    /// <summary>The storage name, which the ADO.NET provider keeps as the row's grain type: the sweep selects rows by it.</summary>
    internal const string StateName = "idempotencyKey";

    /// <summary>
    /// Requests that gave the key up: a late repeat of one of their begins (the gateway's second call, arriving after the
    /// first answered and abandoned) must not lock the key again for a request that is over. Kept for this activation.
    /// </summary>
    private readonly HashSet<string> _abandoned = new(StringComparer.Ordinal);

    public Task<BeginRequestResult> BeginAsync(BeginRequest command) => AgainAfterConflictAsync(() => BeginOnceAsync(command));

    public Task CompleteAsync(CompleteRequest command) => AgainAfterConflictAsync(async () =>
    {
        await CompleteOnceAsync(command);
        return true;
    });

    public Task AbandonAsync(string lockToken) => AgainAfterConflictAsync(async () =>
    {
        await AbandonOnceAsync(lockToken);
        return true;
    });

    /// <summary>
    /// Runs <paramref name="operation"/>, and once more from what storage holds if its write met a version conflict. The usual
    /// cause is the sweep: it deleted this key's expired row while this activation still held the row's old version, and every
    /// write with that version would fail. Read afresh, the key is absent (or, after a real race, as the other writer left it)
    /// and the operation decides again. A second conflict is a real contest and is thrown (the activation is then dropped).
    /// </summary>
    private async Task<T> AgainAfterConflictAsync<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (InconsistentStateException)
        {
            await key.ReadStateAsync();
            return await operation();
        }
    }

    /// <summary>
    /// Past its retention the record no longer counts. A completed one expires by the age of its answer; one still locked
    /// only once it is past its lock timeout as well, so a request in flight never loses its key by age alone.
    /// </summary>
    private bool HasExpired(IdempotencyKeyState state, TimeSpan lockTimeout, DateTimeOffset now)
    {
        var retention = options.Value.Retention;
        return state.Completed
            ? (state.CompletedAt ?? state.LockedAt) + retention <= now
            : state.LockedAt + (lockTimeout > retention ? lockTimeout : retention) <= now;
    }

    private async Task<BeginRequestResult> BeginOnceAsync(BeginRequest command)
    {
        var state = key.State;
        var now = time.GetUtcNow();
        if (command.RequestToken is not null && _abandoned.Contains(command.RequestToken))
        {
            return new BeginRequestResult(BeginRequestOutcome.InProgress, null, TimeSpan.FromSeconds(1));
        }

        // An expired record is overwritten below as if the key were new (the same row, while the sweep has not deleted it).
        if (state.Fingerprint is not null && !HasExpired(state, command.LockTimeout, now))
        {
            if (state.Fingerprint != command.Fingerprint)
            {
                return new BeginRequestResult(BeginRequestOutcome.FingerprintMismatch, null, null);
            }

            if (state.Completed)
            {
                var response = new StoredResponse(state.StatusCode, state.ContentType ?? "application/json", state.Body ?? [], state.Location);
                return new BeginRequestResult(BeginRequestOutcome.Completed, response, null);
            }

            if (command.RequestToken is not null && state.LockToken == command.RequestToken)
            {
                // This very request again (its first begin's answer was lost): it holds the lock already.
                return new BeginRequestResult(BeginRequestOutcome.Started, null, null, state.LockToken);
            }

            var lockExpiresAt = state.LockedAt + command.LockTimeout;
            if (lockExpiresAt > now)
            {
                var retryAfter = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling((lockExpiresAt - now).TotalSeconds)));
                return new BeginRequestResult(BeginRequestOutcome.InProgress, null, retryAfter);
            }
        }

        var previous = (state.Fingerprint, state.Completed, state.LockedAt, state.LockToken, state.CompletedAt);
        state.Fingerprint = command.Fingerprint;
        state.Completed = false;
        state.LockedAt = now;
        state.LockToken = command.RequestToken ?? Guid.NewGuid().ToString("N");
        state.CompletedAt = null;
        // Not stored, so not locked: memory must not turn the client's retry away.
        await key.WriteOrUndoAsync(this, () => (state.Fingerprint, state.Completed, state.LockedAt, state.LockToken, state.CompletedAt) = previous);

        return new BeginRequestResult(BeginRequestOutcome.Started, null, null, state.LockToken);
    }

    private async Task CompleteOnceAsync(CompleteRequest command)
    {
        if (key.State.Completed || key.State.LockToken != command.LockToken)
        {
            // Another run of the same request took the lock over (this one was presumed dead) or answered first.
            return;
        }

        var state = key.State;
        var previous = (state.Completed, state.StatusCode, state.ContentType, state.Body, state.Location, state.CompletedAt);
        state.Completed = true;
        state.StatusCode = command.Response.StatusCode;
        state.ContentType = command.Response.ContentType;
        state.Body = command.Response.Body;
        state.Location = command.Response.Location;
        state.CompletedAt = time.GetUtcNow();
        // Not stored, so not completed: memory must not replay an answer that storage does not have.
        await key.WriteOrUndoAsync(this, () => (state.Completed, state.StatusCode, state.ContentType, state.Body, state.Location, state.CompletedAt) = previous);
    }

    private async Task AbandonOnceAsync(string lockToken)
    {
        if (key.State.LockToken == lockToken && !key.State.Completed)
        {
            if (_abandoned.Count < 100)
            {
                _abandoned.Add(lockToken);
            }

            await key.ClearStateAsync();
            key.State = new IdempotencyKeyState();
        }
    }
}
