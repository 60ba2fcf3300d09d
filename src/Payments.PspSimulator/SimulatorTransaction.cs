using Payments.PspSimulator.Balance;
using Payments.PspSimulator.Payouts;
using Payments.PspSimulator.Reporting;

namespace Payments.PspSimulator;

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

    internal Dictionary<string, SimulatedPayout> Payouts { get; } = new(StringComparer.Ordinal);

    /// <summary>A list, not a dictionary: the order events happen in is the order they are listed and sent in.</summary>
    internal List<SimulatedEvent> Events { get; } = [];

    /// <summary>A list: balance transactions are listed (and reported) in the order they were made.</summary>
    internal List<SimulatedBalanceTransaction> BalanceTransactions { get; } = [];

    internal List<SimulatedAutomaticPayout> AutomaticPayouts { get; } = [];

    internal Dictionary<string, SimulatedReportRun> ReportRuns { get; } = new(StringComparer.Ordinal);

    /// <summary>The simulator clock's new offset from real time, if this transaction moved it.</summary>
    internal TimeSpan? ClockOffset { get; private set; }

    /// <summary>The last day whose automatic payouts this transaction made, if it made any.</summary>
    internal DateOnly? PayoutsThrough { get; private set; }

    internal bool IsEmpty =>
        Intents.Count == 0 && Attempts.Count == 0 && Sessions.Count == 0 && Refunds.Count == 0 && Payouts.Count == 0 && Events.Count == 0
        && BalanceTransactions.Count == 0 && AutomaticPayouts.Count == 0 && ReportRuns.Count == 0 && ClockOffset is null && PayoutsThrough is null;

    /// <summary>
    /// Now on the simulator's clock: real time plus the offset tests moved it by (<c>POST /_sim/clock</c>). Balance
    /// transactions, the PSP's payouts and reports use it; intents, refunds and payouts keep real time for their own timing.
    /// </summary>
    public DateTimeOffset Now => DateTimeOffset.UtcNow + CurrentOffset;

    /// <summary>The clock's offset from real time: this transaction's, else the committed one.</summary>
    public TimeSpan CurrentOffset => ClockOffset ?? _store.ClockOffset;

    /// <summary>The last day whose automatic payouts are made (this transaction's, else the committed one).</summary>
    public DateOnly? CurrentPayoutsThrough => PayoutsThrough ?? _store.PayoutsThrough;

    /// <summary>Moves the simulator's clock forward (never back: reports of a day must not change once it has ended).</summary>
    public void AdvanceClock(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        ClockOffset = (ClockOffset ?? _store.ClockOffset) + by;
    }

    public void SaveBalanceTransaction(SimulatedBalanceTransaction balanceTransaction)
    {
        ArgumentNullException.ThrowIfNull(balanceTransaction);
        BalanceTransactions.Add(balanceTransaction);
    }

    /// <summary>Records the PSP's payout of a day to our bank.</summary>
    public void SaveAutomaticPayout(SimulatedAutomaticPayout payout)
    {
        ArgumentNullException.ThrowIfNull(payout);
        AutomaticPayouts.Add(payout);
    }

    public void MarkPaidOutThrough(DateOnly through) => PayoutsThrough = through;

    /// <summary>The balance transactions of the days after <paramref name="after"/> (all if null) and before <paramref name="before"/>, this transaction's included.</summary>
    public IReadOnlyList<SimulatedBalanceTransaction> ListBalanceTransactionsOfDays(DateOnly? after, DateOnly before) =>
    [
        .. _store.ListBalanceTransactionsOfDays(after, before),
        .. BalanceTransactions.Where(transaction => (after is null || transaction.Day > after) && transaction.Day < before),
    ];

    public SimulatedReportRun? FindReportRun(string id) =>
        ReportRuns.TryGetValue(id, out var pending) ? pending : _store.FindReportRun(id);

    public void SaveReportRun(SimulatedReportRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        ReportRuns[run.Id] = run;
    }

    public SimulatedPaymentIntent? FindIntent(string id) =>
        Intents.TryGetValue(id, out var pending) ? pending : _store.FindIntent(id);

    public void SaveIntent(SimulatedPaymentIntent intent)
    {
        ArgumentNullException.ThrowIfNull(intent);
        // Here, not at each place a charge succeeds (confirm, hosted page, processing): the balance moves iff the
        // succeeded intent is kept, whichever path got it there.
        BalanceRecorder.IntentSaved(this, FindIntent(intent.Id), intent);
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
        BalanceRecorder.RefundSaved(this, FindRefund(refund.Id), refund);
        Refunds[refund.Id] = refund;
    }

    public SimulatedPayout? FindPayout(string id) =>
        Payouts.TryGetValue(id, out var pending) ? pending : _store.FindPayout(id);

    public void SavePayout(SimulatedPayout payout)
    {
        ArgumentNullException.ThrowIfNull(payout);
        Payouts[payout.Id] = payout;
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
