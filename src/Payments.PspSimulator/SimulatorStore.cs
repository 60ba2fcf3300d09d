using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Payments.PspSimulator;

/// <summary>
/// All state of the simulator: payment intents, checkout sessions, refunds, webhook events (with
/// how their delivery went), idempotency records and per-token attempt counters. Thread-safe, and
/// the only class that knows how state is kept.
/// </summary>
/// <remarks>
/// <para>
/// Without a data directory the state lives in memory only. With one, the simulator stands for a PSP
/// that outlives our process: every change (one <see cref="SimulatorTransaction"/>: the intents it
/// saved, the counters it moved and the idempotency record it stored, together) is appended as one
/// JSON line to <see cref="LogFileName"/> and flushed to the operating system before it becomes
/// visible, so before any response that depends on it is sent. That survives a killed process
/// (SIGKILL), not a machine crash: there is no fsync.
/// </para>
/// <para>
/// Transactions run one at a time (<see cref="_writeGate"/>), from their first read to their commit:
/// two buyers paying on the same hosted page, or two refunds of the same intent, can't both read the
/// old state. Their work is short and in memory, so that costs nothing that matters to a simulator.
/// </para>
/// <para>
/// At start the file is replayed to rebuild memory. A torn last line (the process was killed while
/// writing it) is dropped and cut off; any other unreadable line stops the start, rather than
/// pretending to a state the PSP never had.
/// </para>
/// <para>
/// Line format, version 1: <c>{"v":1,"intents":[...],"sessions":[...],"refunds":[...],"events":[...],
/// "event_deliveries":[...],"attempts":{"counter":n},"idempotency":{"key","fingerprint","status_code",
/// "body","retry_after_seconds"}}</c>; each part is left out when empty (so files written before
/// sessions, refunds and events existed still read). Records are full snapshots (the last one for an
/// id wins), counters are absolute values. An event's body never changes, so a new state of a known
/// event (a delivery attempt) is written as <c>event_deliveries</c>, its delivery fields only.
/// </para>
/// </remarks>
public sealed class SimulatorStore : IDisposable
{
    /// <summary>The file, in the data directory, that holds the simulator's state.</summary>
    public const string LogFileName = "psp-simulator.jsonl";

    private const int FormatVersion = 1;

    private readonly Lock _writeGate = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SimulatedPaymentIntent> _intents = new(StringComparer.Ordinal);
    private readonly List<string> _intentOrder = [];
    private readonly HashSet<string> _processingIntents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedCheckoutSession> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedRefund> _refunds = new(StringComparer.Ordinal);
    private readonly List<string> _refundOrder = [];
    private readonly HashSet<string> _failingRefunds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedEvent> _events = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _eventPosition = new(StringComparer.Ordinal);
    private readonly List<string> _eventOrder = [];
    private readonly HashSet<string> _pendingEvents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IdempotencyRecord> _idempotency = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _keyLocks = new(StringComparer.Ordinal);
    private readonly FileStream? _log;
    private long _logLength;
    private TaskCompletionSource _change = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// A store in memory (<paramref name="dataDirectory"/> null or empty), or one kept in
    /// <paramref name="dataDirectory"/> (created if missing) whose earlier state is loaded here. One
    /// store at a time per directory: the file is held exclusively until <see cref="Dispose"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The file holds a line that is neither valid nor the torn last one.</exception>
    public SimulatorStore(string? dataDirectory = null)
    {
        if (string.IsNullOrEmpty(dataDirectory))
        {
            return;
        }

        Directory.CreateDirectory(dataDirectory);
        Path = System.IO.Path.GetFullPath(System.IO.Path.Combine(dataDirectory, LogFileName));
        _log = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.SequentialScan);
        try
        {
            _logLength = Replay(_log, Path);
            _log.SetLength(_logLength);
            _log.Position = _logLength;
        }
        catch
        {
            _log.Dispose();
            throw;
        }
    }

    /// <summary>The file the state is kept in, or null when it is kept in memory only.</summary>
    public string? Path { get; }

    /// <summary>
    /// Completes at the next commit. Background work takes it before reading the state, then waits on
    /// it, so that no change between the read and the wait goes unnoticed.
    /// </summary>
    public Task NextChange
    {
        get
        {
            lock (_gate)
            {
                return _change.Task;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="execute"/> under Stripe's idempotency rules for <paramref name="idempotencyKey"/>:
    /// requests with the same key run one at a time; a key seen before with the same
    /// <paramref name="fingerprint"/> gets the stored response back (<c>Replayed</c>); with another
    /// fingerprint it gets <paramref name="mismatch"/>. Without a key, <paramref name="execute"/> just runs.
    /// The changes <paramref name="execute"/> makes through its transaction and the stored response
    /// are kept together, at once, before this returns.
    /// </summary>
    public async Task<(SimulatorResponse Response, bool Replayed)> ExecuteIdempotentAsync(
        string? idempotencyKey,
        string fingerprint,
        Func<SimulatorTransaction, SimulatorResponse> execute,
        Func<SimulatorResponse> mismatch,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execute);
        ArgumentNullException.ThrowIfNull(mismatch);
        if (string.IsNullOrEmpty(idempotencyKey))
        {
            return (Update(execute), false);
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

            lock (_writeGate)
            {
                var transaction = new SimulatorTransaction(this);
                var response = execute(transaction);
                var stored = response.IsStored
                    ? new IdempotencyRecord(idempotencyKey, fingerprint, response with { LoseResponse = false })
                    : null;
                Commit(transaction, stored);
                return (response, false);
            }
        }
        finally
        {
            keyLock.Release();
        }
    }

    /// <summary>Runs <paramref name="change"/> and keeps what it changed through its transaction, all at once.</summary>
    public T Update<T>(Func<SimulatorTransaction, T> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_writeGate)
        {
            var transaction = new SimulatorTransaction(this);
            var result = change(transaction);
            Commit(transaction, idempotency: null);
            return result;
        }
    }

    /// <summary>Saves one payment intent (a transaction of its own).</summary>
    public void SaveIntent(SimulatedPaymentIntent intent)
    {
        ArgumentNullException.ThrowIfNull(intent);
        Update(transaction =>
        {
            transaction.SaveIntent(intent);
            return true;
        });
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

    /// <summary>The intents in <c>processing</c>, oldest first.</summary>
    public IReadOnlyList<SimulatedPaymentIntent> ListProcessingIntents()
    {
        lock (_gate)
        {
            return _intentOrder.Where(_processingIntents.Contains).Select(id => _intents[id]).ToList();
        }
    }

    /// <summary>Every refund, oldest first.</summary>
    public IReadOnlyList<SimulatedRefund> ListRefunds()
    {
        lock (_gate)
        {
            return _refundOrder.Select(id => _refunds[id]).ToList();
        }
    }

    /// <summary>The refunds that succeeded for now and will fail.</summary>
    public IReadOnlyList<SimulatedRefund> ListFailingRefunds()
    {
        lock (_gate)
        {
            return _failingRefunds.Select(id => _refunds[id]).ToList();
        }
    }

    public SimulatedCheckoutSession? FindSession(string id)
    {
        lock (_gate)
        {
            return _sessions.GetValueOrDefault(id);
        }
    }

    public SimulatedRefund? FindRefund(string id)
    {
        lock (_gate)
        {
            return _refunds.GetValueOrDefault(id);
        }
    }

    public SimulatedEvent? FindEvent(string id)
    {
        lock (_gate)
        {
            return _events.GetValueOrDefault(id);
        }
    }

    /// <summary>Every webhook event, in the order they happened.</summary>
    public IReadOnlyList<SimulatedEvent> ListEvents()
    {
        lock (_gate)
        {
            return _eventOrder.Select(id => _events[id]).ToList();
        }
    }

    /// <summary>The events still owed a delivery (<see cref="SimulatedEvent.IsPending"/>), in the order they happened.</summary>
    public IReadOnlyList<SimulatedEvent> ListPendingEvents()
    {
        lock (_gate)
        {
            return _pendingEvents.OrderBy(id => _eventPosition[id]).Select(id => _events[id]).ToList();
        }
    }

    /// <summary>A new Stripe-style id such as <c>pi_3Q...</c>.</summary>
    public static string NewId(string prefix)
    {
        const string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        return prefix + "_" + RandomNumberGenerator.GetString(alphabet, 24);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _log?.Dispose();
        }
    }

    internal int CurrentAttempts(string counter)
    {
        lock (_gate)
        {
            return _attempts.GetValueOrDefault(counter);
        }
    }

    /// <summary>Writes the transaction's changes as one line (if kept in a file), then makes them visible.</summary>
    private void Commit(SimulatorTransaction transaction, IdempotencyRecord? idempotency)
    {
        if (transaction.IsEmpty && idempotency is null)
        {
            return;
        }

        TaskCompletionSource changed;
        lock (_gate)
        {
            if (_log is not null)
            {
                Append(new LogLine
                {
                    Version = FormatVersion,
                    Intents = transaction.Intents.Count == 0 ? null : [.. transaction.Intents.Values],
                    Sessions = transaction.Sessions.Count == 0 ? null : [.. transaction.Sessions.Values],
                    Refunds = transaction.Refunds.Count == 0 ? null : [.. transaction.Refunds.Values],
                    Events = NewEvents(transaction.Events),
                    EventDeliveries = EventDeliveries(transaction.Events),
                    Attempts = transaction.Attempts.Count == 0 ? null : new Dictionary<string, int>(transaction.Attempts, StringComparer.Ordinal),
                    Idempotency = idempotency is null ? null : LogIdempotency.From(idempotency),
                });
            }

            foreach (var intent in transaction.Intents.Values)
            {
                ApplyIntent(intent);
            }

            foreach (var session in transaction.Sessions.Values)
            {
                _sessions[session.Id] = session;
            }

            foreach (var refund in transaction.Refunds.Values)
            {
                ApplyRefund(refund);
            }

            foreach (var webhookEvent in transaction.Events)
            {
                ApplyEvent(webhookEvent);
            }

            foreach (var (counter, count) in transaction.Attempts)
            {
                _attempts[counter] = count;
            }

            if (idempotency is not null)
            {
                _idempotency[idempotency.Key] = idempotency;
            }

            changed = _change;
            _change = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.SetResult();
    }

    /// <summary>The events of a transaction that the log doesn't hold yet. Called under <see cref="_gate"/>.</summary>
    private List<SimulatedEvent>? NewEvents(List<SimulatedEvent> events)
    {
        var added = events.Where(e => !_events.ContainsKey(e.Id)).ToList();
        return added.Count == 0 ? null : added;
    }

    /// <summary>New states of events the log holds already: their delivery only. Called under <see cref="_gate"/>.</summary>
    private List<LogEventDelivery>? EventDeliveries(List<SimulatedEvent> events)
    {
        var updated = events.Where(e => _events.ContainsKey(e.Id)).Select(LogEventDelivery.From).ToList();
        return updated.Count == 0 ? null : updated;
    }

    /// <summary>Appends one line and flushes it to the operating system. Called under <see cref="_gate"/>.</summary>
    private void Append(LogLine line)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(line, SimulatorStoreJson.Default.LogLine);
        var buffer = new byte[bytes.Length + 1];
        bytes.CopyTo(buffer, 0);
        buffer[^1] = (byte)'\n';
        ObjectDisposedException.ThrowIf(!_log!.CanWrite, this);
        try
        {
            _log.Write(buffer);
            _log.Flush();
            _logLength += buffer.Length;
        }
        catch (IOException)
        {
            // Don't leave half a line for the next one to be appended to: cut back to the last whole line.
            _log.SetLength(_logLength);
            _log.Position = _logLength;
            throw;
        }
    }

    private void ApplyRefund(SimulatedRefund refund)
    {
        if (!_refunds.ContainsKey(refund.Id))
        {
            _refundOrder.Add(refund.Id);
        }

        _refunds[refund.Id] = refund;
        if (refund.FailingSince is not null)
        {
            _failingRefunds.Add(refund.Id);
        }
        else
        {
            _failingRefunds.Remove(refund.Id);
        }
    }

    private void ApplyIntent(SimulatedPaymentIntent intent)
    {
        if (!_intents.ContainsKey(intent.Id))
        {
            _intentOrder.Add(intent.Id);
        }

        _intents[intent.Id] = intent;
        if (intent.Status == "processing")
        {
            _processingIntents.Add(intent.Id);
        }
        else
        {
            _processingIntents.Remove(intent.Id);
        }
    }

    private void ApplyEvent(SimulatedEvent webhookEvent)
    {
        if (_eventPosition.TryAdd(webhookEvent.Id, _eventOrder.Count))
        {
            _eventOrder.Add(webhookEvent.Id);
        }

        _events[webhookEvent.Id] = webhookEvent;
        if (webhookEvent.IsPending)
        {
            _pendingEvents.Add(webhookEvent.Id);
        }
        else
        {
            _pendingEvents.Remove(webhookEvent.Id);
        }
    }

    /// <summary>Loads every whole line of <paramref name="log"/>; returns the length of the whole lines.</summary>
    private long Replay(FileStream log, string path)
    {
        var line = new ArrayBufferWriter<byte>();
        var buffer = new byte[64 * 1024];
        long position = 0;
        long wholeLines = 0;
        var lineNumber = 0;
        int read;
        while ((read = log.Read(buffer)) > 0)
        {
            var rest = buffer.AsSpan(0, read);
            while (true)
            {
                var newline = rest.IndexOf((byte)'\n');
                if (newline < 0)
                {
                    line.Write(rest);
                    position += rest.Length;
                    break;
                }

                line.Write(rest[..newline]);
                position += newline + 1;
                lineNumber++;
                ReplayLine(line.WrittenSpan, path, lineNumber);
                line.ResetWrittenCount();
                wholeLines = position;
                rest = rest[(newline + 1)..];
            }
        }

        // Whatever follows the last newline is a line the process was killed while writing: never acknowledged.
        return wholeLines;
    }

    private void ReplayLine(ReadOnlySpan<byte> json, string path, int lineNumber)
    {
        if (json.Trim(" \t\r"u8).IsEmpty)
        {
            return;
        }

        LogLine? line;
        try
        {
            line = JsonSerializer.Deserialize(json, SimulatorStoreJson.Default.LogLine);
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"{path}, line {lineNumber}: not a valid simulator state line ({exception.Message}).", exception);
        }

        if (line is null || line.Version != FormatVersion)
        {
            throw new InvalidDataException($"{path}, line {lineNumber}: unknown format version {line?.Version}; this simulator reads version {FormatVersion}.");
        }

        foreach (var intent in line.Intents ?? [])
        {
            ApplyIntent(intent);
        }

        foreach (var session in line.Sessions ?? [])
        {
            _sessions[session.Id] = session;
        }

        foreach (var refund in line.Refunds ?? [])
        {
            ApplyRefund(refund);
        }

        foreach (var webhookEvent in line.Events ?? [])
        {
            ApplyEvent(webhookEvent);
        }

        foreach (var delivery in line.EventDeliveries ?? [])
        {
            if (!_events.TryGetValue(delivery.Id, out var webhookEvent))
            {
                throw new InvalidDataException($"{path}, line {lineNumber}: delivery of event {delivery.Id}, which no earlier line records.");
            }

            ApplyEvent(delivery.ApplyTo(webhookEvent));
        }

        foreach (var (counter, count) in line.Attempts ?? new Dictionary<string, int>())
        {
            _attempts[counter] = count;
        }

        if (line.Idempotency is { } idempotency)
        {
            _idempotency[idempotency.Key] = idempotency.ToRecord();
        }
    }

    internal sealed record IdempotencyRecord(string Key, string Fingerprint, SimulatorResponse Response);

    /// <summary>One line of the state file: one committed transaction.</summary>
    internal sealed record LogLine
    {
        [JsonPropertyName("v")]
        public int Version { get; init; }

        public IReadOnlyList<SimulatedPaymentIntent>? Intents { get; init; }

        public IReadOnlyList<SimulatedCheckoutSession>? Sessions { get; init; }

        public IReadOnlyList<SimulatedRefund>? Refunds { get; init; }

        public IReadOnlyList<SimulatedEvent>? Events { get; init; }

        public IReadOnlyList<LogEventDelivery>? EventDeliveries { get; init; }

        public IReadOnlyDictionary<string, int>? Attempts { get; init; }

        public LogIdempotency? Idempotency { get; init; }
    }

    /// <summary>The fields of a <see cref="SimulatedEvent"/> that its delivery changes.</summary>
    internal sealed record LogEventDelivery
    {
        public required string Id { get; init; }

        public string? Url { get; init; }

        public int Attempts { get; init; }

        public int Deliveries { get; init; }

        public int Failures { get; init; }

        public DateTimeOffset? NextAttemptAt { get; init; }

        public static LogEventDelivery From(SimulatedEvent webhookEvent) => new()
        {
            Id = webhookEvent.Id,
            Url = webhookEvent.Url,
            Attempts = webhookEvent.Attempts,
            Deliveries = webhookEvent.Deliveries,
            Failures = webhookEvent.Failures,
            NextAttemptAt = webhookEvent.NextAttemptAt,
        };

        public SimulatedEvent ApplyTo(SimulatedEvent webhookEvent) => webhookEvent with
        {
            Url = Url,
            Attempts = Attempts,
            Deliveries = Deliveries,
            Failures = Failures,
            NextAttemptAt = NextAttemptAt,
        };
    }

    internal sealed record LogIdempotency
    {
        public required string Key { get; init; }

        public required string Fingerprint { get; init; }

        public required int StatusCode { get; init; }

        public required string Body { get; init; }

        public int? RetryAfterSeconds { get; init; }

        public static LogIdempotency From(IdempotencyRecord record) => new()
        {
            Key = record.Key,
            Fingerprint = record.Fingerprint,
            StatusCode = record.Response.StatusCode,
            Body = record.Response.Body,
            RetryAfterSeconds = record.Response.RetryAfterSeconds,
        };

        public IdempotencyRecord ToRecord() => new(Key, Fingerprint, new SimulatorResponse(StatusCode, Body, RetryAfterSeconds));
    }
}

/// <summary>
/// The changes of one request, made visible (and kept) together when it ends. Reads see the
/// transaction's own changes first. Not thread-safe: one request's work.
/// </summary>
public sealed class SimulatorTransaction
{
    private readonly SimulatorStore _store;

    internal SimulatorTransaction(SimulatorStore store) => _store = store;

    internal Dictionary<string, SimulatedPaymentIntent> Intents { get; } = new(StringComparer.Ordinal);

    internal Dictionary<string, int> Attempts { get; } = new(StringComparer.Ordinal);

    internal Dictionary<string, SimulatedCheckoutSession> Sessions { get; } = new(StringComparer.Ordinal);

    internal Dictionary<string, SimulatedRefund> Refunds { get; } = new(StringComparer.Ordinal);

    /// <summary>A list, not a dictionary: the order events happen in is the order they are listed and sent in.</summary>
    internal List<SimulatedEvent> Events { get; } = [];

    internal bool IsEmpty =>
        Intents.Count == 0 && Attempts.Count == 0 && Sessions.Count == 0 && Refunds.Count == 0 && Events.Count == 0;

    public SimulatedPaymentIntent? FindIntent(string id) =>
        Intents.TryGetValue(id, out var pending) ? pending : _store.FindIntent(id);

    public void SaveIntent(SimulatedPaymentIntent intent)
    {
        ArgumentNullException.ThrowIfNull(intent);
        Intents[intent.Id] = intent;
    }

    /// <summary>The intent whose charge is <paramref name="chargeId"/> (for refunds by charge), or null.</summary>
    public SimulatedPaymentIntent? FindIntentByCharge(string chargeId) =>
        Intents.Values.FirstOrDefault(i => i.LatestCharge == chargeId)
        ?? _store.ListIntents().FirstOrDefault(i => i.LatestCharge == chargeId && !Intents.ContainsKey(i.Id));

    public SimulatedCheckoutSession? FindSession(string id) =>
        Sessions.TryGetValue(id, out var pending) ? pending : _store.FindSession(id);

    public void SaveSession(SimulatedCheckoutSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        Sessions[session.Id] = session;
    }

    public SimulatedRefund? FindRefund(string id) =>
        Refunds.TryGetValue(id, out var pending) ? pending : _store.FindRefund(id);

    public void SaveRefund(SimulatedRefund refund)
    {
        ArgumentNullException.ThrowIfNull(refund);
        Refunds[refund.Id] = refund;
    }

    public SimulatedEvent? FindEvent(string id) =>
        Events.FindLast(e => e.Id == id) ?? _store.FindEvent(id);

    /// <summary>Records a new event, or a new state of one (its delivery), replacing what this transaction saved of it.</summary>
    public void SaveEvent(SimulatedEvent webhookEvent)
    {
        ArgumentNullException.ThrowIfNull(webhookEvent);
        var index = Events.FindIndex(e => e.Id == webhookEvent.Id);
        if (index >= 0)
        {
            Events[index] = webhookEvent;
        }
        else
        {
            Events.Add(webhookEvent);
        }
    }

    /// <summary>Counts attempts of one thing (for test cards that fail the first n times); returns the new count.</summary>
    public int IncrementAttempts(string counter)
    {
        var count = (Attempts.TryGetValue(counter, out var pending) ? pending : _store.CurrentAttempts(counter)) + 1;
        Attempts[counter] = count;
        return count;
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SimulatorStore.LogLine))]
internal sealed partial class SimulatorStoreJson : JsonSerializerContext;
