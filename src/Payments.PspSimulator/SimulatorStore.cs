using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Payments.PspSimulator;

/// <summary>
/// All state of the simulator: payment intents, idempotency records and per-token attempt counters.
/// In memory and thread-safe; the only class that knows how state is kept.
/// </summary>
public sealed class SimulatorStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SimulatedPaymentIntent> _intents = new(StringComparer.Ordinal);
    private readonly List<string> _intentOrder = [];
    private readonly Dictionary<string, IdempotencyRecord> _idempotency = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _keyLocks = new(StringComparer.Ordinal);

    /// <summary>
    /// Runs <paramref name="execute"/> under Stripe's idempotency rules for <paramref name="idempotencyKey"/>:
    /// requests with the same key run one at a time; a key seen before with the same
    /// <paramref name="fingerprint"/> gets the stored response back (<c>Replayed</c>); with another
    /// fingerprint it gets <paramref name="mismatch"/>. Without a key, <paramref name="execute"/> just runs.
    /// </summary>
    public async Task<(SimulatorResponse Response, bool Replayed)> ExecuteIdempotentAsync(
        string? idempotencyKey,
        string fingerprint,
        Func<SimulatorResponse> execute,
        Func<SimulatorResponse> mismatch,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execute);
        ArgumentNullException.ThrowIfNull(mismatch);
        if (string.IsNullOrEmpty(idempotencyKey))
        {
            return (execute(), false);
        }

        var keyLock = _keyLocks.GetOrAdd(idempotencyKey, static _ => new SemaphoreSlim(1, 1));
        await keyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            IdempotencyRecord? record;
            lock (_gate)
            {
                _idempotency.TryGetValue(idempotencyKey, out record);
            }

            if (record is not null)
            {
                return record.Fingerprint == fingerprint ? (record.Response, true) : (mismatch(), false);
            }

            var response = execute();
            if (response.IsStored)
            {
                lock (_gate)
                {
                    _idempotency[idempotencyKey] = new IdempotencyRecord(fingerprint, response with { LoseResponse = false });
                }
            }

            return (response, false);
        }
        finally
        {
            keyLock.Release();
        }
    }

    public void SaveIntent(SimulatedPaymentIntent intent)
    {
        ArgumentNullException.ThrowIfNull(intent);
        lock (_gate)
        {
            if (!_intents.ContainsKey(intent.Id))
            {
                _intentOrder.Add(intent.Id);
            }

            _intents[intent.Id] = intent;
        }
    }

    public SimulatedPaymentIntent? FindIntent(string id)
    {
        lock (_gate)
        {
            return _intents.GetValueOrDefault(id);
        }
    }

    /// <summary>Every payment intent, oldest first.</summary>
    public IReadOnlyList<SimulatedPaymentIntent> ListIntents()
    {
        lock (_gate)
        {
            return _intentOrder.Select(id => _intents[id]).ToList();
        }
    }

    /// <summary>Counts attempts of one thing (for test cards that fail the first n times); returns the new count.</summary>
    public int IncrementAttempts(string counter)
    {
        lock (_gate)
        {
            var count = _attempts.GetValueOrDefault(counter) + 1;
            _attempts[counter] = count;
            return count;
        }
    }

    /// <summary>A new Stripe-style id such as <c>pi_3Q...</c>.</summary>
    public static string NewId(string prefix)
    {
        const string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        return prefix + "_" + RandomNumberGenerator.GetString(alphabet, 24);
    }

    private sealed record IdempotencyRecord(string Fingerprint, SimulatorResponse Response);
}
