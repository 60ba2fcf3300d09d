using Payments.PspSimulator.Payouts;

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

    internal bool IsEmpty =>
        Intents.Count == 0 && Attempts.Count == 0 && Sessions.Count == 0 && Refunds.Count == 0 && Payouts.Count == 0 && Events.Count == 0;

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
