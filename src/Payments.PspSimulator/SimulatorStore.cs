using System.Collections.Concurrent;
using System.Security.Cryptography;
using Payments.PspSimulator.Balance;
using Payments.PspSimulator.Payouts;
using Payments.PspSimulator.Reporting;

namespace Payments.PspSimulator;

/// <summary>
/// All state of the simulator: payment intents, checkout sessions, refunds, payouts, webhook events (with
/// how their delivery went), idempotency records and per-token attempt counters. Thread-safe, and
/// the only class that changes state: <see cref="SimulatorState"/> holds it in memory,
/// <see cref="SimulatorLogFile"/> on disk.
/// </summary>
/// <remarks>
/// <para>
/// Without a data directory the state lives in memory only. With one, the simulator stands for a PSP
/// that outlives our process: every change (one <see cref="SimulatorTransaction"/>: the intents it
/// saved, the counters it moved and the idempotency record it stored, together) is appended as one
/// line (<see cref="SimulatorLogLine"/>) to <see cref="LogFileName"/> and flushed to the operating system
/// before it becomes visible, so before any response that depends on it is sent.
/// </para>
/// <para>
/// Transactions run one at a time (<see cref="_writeGate"/>), from their first read to their commit:
/// two buyers paying on the same hosted page, or two refunds of the same intent, can't both read the
/// old state. Their work is short and in memory, so that costs nothing that matters to a simulator.
/// </para>
/// </remarks>
public sealed class SimulatorStore : IDisposable
{
    /// <summary>The file, in the data directory, that holds the simulator's state.</summary>
    public const string LogFileName = "psp-simulator.jsonl";

    private readonly Lock _writeGate = new();
    private readonly Lock _gate = new();
    private readonly SimulatorState _state = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _keyLocks = new(StringComparer.Ordinal);
    private readonly SimulatorLogFile? _log;
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
        _log = SimulatorLogFile.Open(Path, _state.Apply);
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
            var record = Read(state => state.FindIdempotency(idempotencyKey));
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

    public SimulatedPaymentIntent? FindIntent(string id) => Read(state => state.FindIntent(id));

    /// <summary>Every payment intent, oldest first.</summary>
    public IReadOnlyList<SimulatedPaymentIntent> ListIntents() => Read(state => state.ListIntents());

    /// <summary>The intents in <c>processing</c>, oldest first.</summary>
    public IReadOnlyList<SimulatedPaymentIntent> ListProcessingIntents() => Read(state => state.ListProcessingIntents());

    /// <summary>Every refund, oldest first.</summary>
    public IReadOnlyList<SimulatedRefund> ListRefunds() => Read(state => state.ListRefunds());

    /// <summary>The refunds that succeeded for now and will fail.</summary>
    public IReadOnlyList<SimulatedRefund> ListFailingRefunds() => Read(state => state.ListFailingRefunds());

    public SimulatedCheckoutSession? FindSession(string id) => Read(state => state.FindSession(id));

    public SimulatedRefund? FindRefund(string id) => Read(state => state.FindRefund(id));

    public SimulatedPayout? FindPayout(string id) => Read(state => state.FindPayout(id));

    /// <summary>Every payout, oldest first.</summary>
    public IReadOnlyList<SimulatedPayout> ListPayouts() => Read(state => state.ListPayouts());

    /// <summary>The payouts that will change again (<see cref="SimulatedPayout.ChangingSince"/>), oldest first.</summary>
    public IReadOnlyList<SimulatedPayout> ListChangingPayouts() => Read(state => state.ListChangingPayouts());

    public SimulatedEvent? FindEvent(string id) => Read(state => state.FindEvent(id));

    /// <summary>Every webhook event, in the order they happened.</summary>
    public IReadOnlyList<SimulatedEvent> ListEvents() => Read(state => state.ListEvents());

    /// <summary>The events still owed a delivery (<see cref="SimulatedEvent.IsPending"/>), in the order they happened.</summary>
    public IReadOnlyList<SimulatedEvent> ListPendingEvents() => Read(state => state.ListPendingEvents());

    /// <summary>The simulator clock's committed offset from real time.</summary>
    public TimeSpan ClockOffset => Read(state => state.ClockOffset);

    /// <summary>Now on the simulator's clock (see <see cref="SimulatorTransaction.Now"/>).</summary>
    public DateTimeOffset ClockNow => DateTimeOffset.UtcNow + ClockOffset;

    /// <summary>The last day whose automatic payouts are made, or null before the first.</summary>
    public DateOnly? PayoutsThrough => Read(state => state.PayoutsThrough);

    /// <summary>The balance transactions created in [<paramref name="from"/>, <paramref name="to"/>) (unix seconds), oldest first.</summary>
    public IReadOnlyList<SimulatedBalanceTransaction> ListBalanceTransactions(long from, long to) =>
        Read(state => state.ListBalanceTransactions(from, to));

    /// <summary>The balance transactions of the days after <paramref name="after"/> (all if null) and before <paramref name="before"/>.</summary>
    public IReadOnlyList<SimulatedBalanceTransaction> ListBalanceTransactionsOfDays(DateOnly? after, DateOnly before) =>
        Read(state => state.ListBalanceTransactionsOfDays(after, before));

    /// <summary>The PSP's payout of <paramref name="day"/> in <paramref name="currency"/>, if made.</summary>
    public SimulatedAutomaticPayout? FindAutomaticPayout(DateOnly day, string currency) => Read(state => state.FindAutomaticPayout(day, currency));

    /// <summary>Every automatic payout, oldest first.</summary>
    public IReadOnlyList<SimulatedAutomaticPayout> ListAutomaticPayouts() => Read(state => state.ListAutomaticPayouts());

    public SimulatedReportRun? FindReportRun(string id) => Read(state => state.FindReportRun(id));

    public SimulatedReportRun? FindReportRunByFile(string fileId) => Read(state => state.FindReportRunByFile(fileId));

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

    internal int CurrentAttempts(string counter) => Read(state => state.Attempts(counter));

    /// <summary>Reads the committed state; <paramref name="read"/> must copy what it returns (lists), as it runs under the lock.</summary>
    private T Read<T>(Func<SimulatorState, T> read)
    {
        lock (_gate)
        {
            return read(_state);
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
                ObjectDisposedException.ThrowIf(!_log.IsOpen, this);
                _log.Append(new SimulatorLogLine
                {
                    Version = SimulatorLogLine.FormatVersion,
                    Intents = transaction.Intents.Count == 0 ? null : [.. transaction.Intents.Values],
                    Sessions = transaction.Sessions.Count == 0 ? null : [.. transaction.Sessions.Values],
                    Refunds = transaction.Refunds.Count == 0 ? null : [.. transaction.Refunds.Values],
                    Payouts = transaction.Payouts.Count == 0 ? null : [.. transaction.Payouts.Values],
                    Events = NewEvents(transaction.Events),
                    EventDeliveries = EventDeliveries(transaction.Events),
                    Attempts = transaction.Attempts.Count == 0 ? null : new Dictionary<string, int>(transaction.Attempts, StringComparer.Ordinal),
                    Idempotency = idempotency is null ? null : SimulatorLogIdempotency.From(idempotency),
                    BalanceTransactions = transaction.BalanceTransactions.Count == 0 ? null : [.. transaction.BalanceTransactions],
                    AutomaticPayouts = transaction.AutomaticPayouts.Count == 0 ? null : [.. transaction.AutomaticPayouts],
                    ReportRuns = transaction.ReportRuns.Count == 0 ? null : [.. transaction.ReportRuns.Values],
                    ClockOffset = transaction.ClockOffset,
                    PayoutsThrough = transaction.PayoutsThrough,
                });
            }

            _state.Apply(transaction, idempotency);
            changed = _change;
            _change = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.SetResult();
    }

    /// <summary>The events of a transaction that the log doesn't hold yet. Called under <see cref="_gate"/>.</summary>
    private List<SimulatedEvent>? NewEvents(List<SimulatedEvent> events)
    {
        var added = events.Where(e => !_state.HasEvent(e.Id)).ToList();
        return added.Count == 0 ? null : added;
    }

    /// <summary>New states of events the log holds already: their delivery only. Called under <see cref="_gate"/>.</summary>
    private List<SimulatorLogEventDelivery>? EventDeliveries(List<SimulatedEvent> events)
    {
        var updated = events.Where(e => _state.HasEvent(e.Id)).Select(SimulatorLogEventDelivery.From).ToList();
        return updated.Count == 0 ? null : updated;
    }
}
