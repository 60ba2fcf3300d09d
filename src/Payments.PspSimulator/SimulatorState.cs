using Payments.PspSimulator.Balance;
using Payments.PspSimulator.Payouts;
using Payments.PspSimulator.Reporting;

namespace Payments.PspSimulator;

/// <summary>
/// The committed state of the simulator in memory, indexed for the questions the API and the background
/// loops ask (what is processing, what will fail, what is owed a delivery). Changes come in one way for
/// each source: a committed transaction, or a line of the state file at start. Not thread-safe:
/// <see cref="SimulatorStore"/> calls it under its lock.
/// </summary>
internal sealed class SimulatorState
{
    private readonly Dictionary<string, SimulatedPaymentIntent> _intents = new(StringComparer.Ordinal);
    private readonly List<string> _intentOrder = [];
    private readonly HashSet<string> _processingIntents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedCheckoutSession> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedRefund> _refunds = new(StringComparer.Ordinal);
    private readonly List<string> _refundOrder = [];
    private readonly HashSet<string> _failingRefunds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedPayout> _payouts = new(StringComparer.Ordinal);
    private readonly List<string> _payoutOrder = [];
    private readonly HashSet<string> _changingPayouts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedEvent> _events = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _eventPosition = new(StringComparer.Ordinal);
    private readonly List<string> _eventOrder = [];
    private readonly HashSet<string> _pendingEvents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IdempotencyRecord> _idempotency = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private readonly List<SimulatedBalanceTransaction> _balanceTransactions = [];
    private readonly SortedDictionary<DateOnly, List<SimulatedBalanceTransaction>> _balanceByDay = [];
    private readonly List<SimulatedAutomaticPayout> _automaticPayouts = [];
    private readonly Dictionary<(DateOnly Day, string Currency), SimulatedAutomaticPayout> _automaticPayoutByDay = [];
    private readonly Dictionary<string, SimulatedReportRun> _reportRuns = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _reportRunByFile = new(StringComparer.Ordinal);

    public TimeSpan ClockOffset { get; private set; }

    public DateOnly? PayoutsThrough { get; private set; }

    /// <summary>A scan, not a search: a real clock set back (NTP) may leave the list out of <c>Created</c> order.</summary>
    public List<SimulatedBalanceTransaction> ListBalanceTransactions(long from, long to) =>
        _balanceTransactions.Where(transaction => transaction.Created >= from && transaction.Created < to).ToList();

    public List<SimulatedBalanceTransaction> ListBalanceTransactionsOfDays(DateOnly? after, DateOnly before) =>
        _balanceByDay.Where(day => (after is null || day.Key > after) && day.Key < before).SelectMany(day => day.Value).ToList();

    public SimulatedAutomaticPayout? FindAutomaticPayout(DateOnly day, string currency) => _automaticPayoutByDay.GetValueOrDefault((day, currency));

    public List<SimulatedAutomaticPayout> ListAutomaticPayouts() => [.. _automaticPayouts];

    public SimulatedReportRun? FindReportRun(string id) => _reportRuns.GetValueOrDefault(id);

    public SimulatedReportRun? FindReportRunByFile(string fileId) =>
        _reportRunByFile.TryGetValue(fileId, out var runId) ? _reportRuns[runId] : null;

    public SimulatedPaymentIntent? FindIntent(string id) => _intents.GetValueOrDefault(id);

    public List<SimulatedPaymentIntent> ListIntents() => _intentOrder.Select(id => _intents[id]).ToList();

    public List<SimulatedPaymentIntent> ListProcessingIntents() =>
        _intentOrder.Where(_processingIntents.Contains).Select(id => _intents[id]).ToList();

    public SimulatedCheckoutSession? FindSession(string id) => _sessions.GetValueOrDefault(id);

    public SimulatedRefund? FindRefund(string id) => _refunds.GetValueOrDefault(id);

    public List<SimulatedRefund> ListRefunds() => _refundOrder.Select(id => _refunds[id]).ToList();

    public List<SimulatedRefund> ListFailingRefunds() => _failingRefunds.Select(id => _refunds[id]).ToList();

    public SimulatedPayout? FindPayout(string id) => _payouts.GetValueOrDefault(id);

    public List<SimulatedPayout> ListPayouts() => _payoutOrder.Select(id => _payouts[id]).ToList();

    public List<SimulatedPayout> ListChangingPayouts() =>
        _payoutOrder.Where(_changingPayouts.Contains).Select(id => _payouts[id]).ToList();

    public SimulatedEvent? FindEvent(string id) => _events.GetValueOrDefault(id);

    public bool HasEvent(string id) => _events.ContainsKey(id);

    public List<SimulatedEvent> ListEvents() => _eventOrder.Select(id => _events[id]).ToList();

    public List<SimulatedEvent> ListPendingEvents() =>
        _pendingEvents.OrderBy(id => _eventPosition[id]).Select(id => _events[id]).ToList();

    public IdempotencyRecord? FindIdempotency(string key) => _idempotency.GetValueOrDefault(key);

    public int Attempts(string counter) => _attempts.GetValueOrDefault(counter);

    /// <summary>Makes a committed transaction (and the answer stored with it, if any) part of the state.</summary>
    public void Apply(SimulatorTransaction transaction, IdempotencyRecord? idempotency)
    {
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

        foreach (var payout in transaction.Payouts.Values)
        {
            ApplyPayout(payout);
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

        ApplySettlement(transaction.BalanceTransactions, transaction.AutomaticPayouts, transaction.ReportRuns.Values, transaction.ClockOffset, transaction.PayoutsThrough);
    }

    /// <summary>Replays one line of the state file; <paramref name="location"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The line updates an event no earlier line recorded.</exception>
    public void Apply(SimulatorLogLine line, string location)
    {
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

        foreach (var payout in line.Payouts ?? [])
        {
            ApplyPayout(payout);
        }

        foreach (var webhookEvent in line.Events ?? [])
        {
            ApplyEvent(webhookEvent);
        }

        foreach (var delivery in line.EventDeliveries ?? [])
        {
            if (!_events.TryGetValue(delivery.Id, out var webhookEvent))
            {
                throw new InvalidDataException($"{location}: delivery of event {delivery.Id}, which no earlier line records.");
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

        ApplySettlement(line.BalanceTransactions ?? [], line.AutomaticPayouts ?? [], line.ReportRuns ?? [], line.ClockOffset, line.PayoutsThrough);
    }

    private void ApplySettlement(
        IEnumerable<SimulatedBalanceTransaction> balanceTransactions,
        IEnumerable<SimulatedAutomaticPayout> automaticPayouts,
        IEnumerable<SimulatedReportRun> reportRuns,
        TimeSpan? clockOffset,
        DateOnly? payoutsThrough)
    {
        foreach (var balanceTransaction in balanceTransactions)
        {
            _balanceTransactions.Add(balanceTransaction);
            if (!_balanceByDay.TryGetValue(balanceTransaction.Day, out var ofDay))
            {
                _balanceByDay[balanceTransaction.Day] = ofDay = [];
            }

            ofDay.Add(balanceTransaction);
        }

        foreach (var payout in automaticPayouts)
        {
            _automaticPayouts.Add(payout);
            _automaticPayoutByDay[(payout.Day, payout.Currency)] = payout;
        }

        foreach (var run in reportRuns)
        {
            _reportRuns[run.Id] = run;
            _reportRunByFile[run.FileId] = run.Id;
        }

        ClockOffset = clockOffset ?? ClockOffset;
        PayoutsThrough = payoutsThrough ?? PayoutsThrough;
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

    private void ApplyPayout(SimulatedPayout payout)
    {
        if (!_payouts.ContainsKey(payout.Id))
        {
            _payoutOrder.Add(payout.Id);
        }

        _payouts[payout.Id] = payout;
        if (payout.ChangingSince is not null)
        {
            _changingPayouts.Add(payout.Id);
        }
        else
        {
            _changingPayouts.Remove(payout.Id);
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
}
