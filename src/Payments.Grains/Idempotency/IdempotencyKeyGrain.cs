using Payments.Core.Idempotency;

namespace Payments.Grains.Idempotency;

/// <summary>
/// The HTTP-level record of one merchant's Idempotency-Key: which request it belongs to, whether that request
/// is running, and the response to replay once it is done. A lock older than its timeout belongs to a request
/// that died: the next caller takes it over (business ids keep the retry from charging twice).
/// </summary>
internal sealed class IdempotencyKeyGrain(
    [PersistentState("idempotencyKey", GrainStorage.Name)] IPersistentState<IdempotencyKeyState> key,
    TimeProvider time) : Grain, IIdempotencyKeyGrain
{
    /// <summary>
    /// Requests that gave the key up: a late repeat of one of their begins (the gateway's second call, arriving after the
    /// first answered and abandoned) must not lock the key again for a request that is over. Kept for this activation.
    /// </summary>
    private readonly HashSet<string> _abandoned = new(StringComparer.Ordinal);

    public async Task<BeginRequestResult> BeginAsync(BeginRequest command)
    {
        var state = key.State;
        var now = time.GetUtcNow();
        if (command.RequestToken is not null && _abandoned.Contains(command.RequestToken))
        {
            return new BeginRequestResult(BeginRequestOutcome.InProgress, null, TimeSpan.FromSeconds(1));
        }

        if (state.Fingerprint is not null)
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

        var previous = (state.Fingerprint, state.Completed, state.LockedAt, state.LockToken);
        state.Fingerprint = command.Fingerprint;
        state.Completed = false;
        state.LockedAt = now;
        state.LockToken = command.RequestToken ?? Guid.NewGuid().ToString("N");
        // Not stored, so not locked: memory must not turn the client's retry away.
        await key.WriteOrUndoAsync(this, () => (state.Fingerprint, state.Completed, state.LockedAt, state.LockToken) = previous);

        return new BeginRequestResult(BeginRequestOutcome.Started, null, null, state.LockToken);
    }

    public async Task CompleteAsync(CompleteRequest command)
    {
        if (key.State.Completed || key.State.LockToken != command.LockToken)
        {
            // Another run of the same request took the lock over (this one was presumed dead) or answered first.
            return;
        }

        var state = key.State;
        var previous = (state.Completed, state.StatusCode, state.ContentType, state.Body, state.Location);
        state.Completed = true;
        state.StatusCode = command.Response.StatusCode;
        state.ContentType = command.Response.ContentType;
        state.Body = command.Response.Body;
        state.Location = command.Response.Location;
        // Not stored, so not completed: memory must not replay an answer that storage does not have.
        await key.WriteOrUndoAsync(this, () => (state.Completed, state.StatusCode, state.ContentType, state.Body, state.Location) = previous);
    }

    public async Task AbandonAsync(string lockToken)
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
