using System.Collections.Concurrent;

namespace Payments.LoadTest.Soak;

/// <summary>How a checkout pays: a token (some of which make the simulator fail once or twice), 3-D Secure, or the hosted page.</summary>
internal enum SoakPayment
{
    Card,
    Declined,
    ThreeDSecure,
    ThreeDSecureFailed,
    HostedPage,
    HostedPageDeclined,
    Processing,
    TimeoutOnce,
    UnavailableTwice,
}

internal sealed record SoakOrderLine(string PaymentOrderId, string Seller, long AmountMinor);

/// <summary>A checkout the API accepted (201 or 202): it must exist at the end, every order final.</summary>
internal sealed record SoakCheckout(string CheckoutId, SoakPayment Payment, IReadOnlyList<SoakOrderLine> Orders, int Answer);

/// <summary>
/// Everything the workload did and was told, for the checks: what was accepted must exist, what the PSP did must be
/// booked. Thread-safe; the workers add to it side by side.
/// </summary>
internal sealed class SoakRecord(string runId)
{
    public string RunId { get; } = runId;

    /// <summary>Ours: every id of this run starts with this, so the checks leave out whatever else the cluster holds.</summary>
    public bool IsOurs(string? id) => id is not null && id.Contains($"_{RunId}_", StringComparison.Ordinal);

    public ConcurrentDictionary<string, SoakCheckout> Checkouts { get; } = new();

    /// <summary>Checkouts not accepted, by the status they ended with (0: no answer within the retry budget).</summary>
    public ConcurrentDictionary<int, int> CheckoutsRefused { get; } = new();

    public ConcurrentDictionary<int, int> RefundAnswers { get; } = new();

    public ConcurrentDictionary<int, int> FulfillmentAnswers { get; } = new();

    /// <summary>Payouts created (201), by id, with their seller.</summary>
    public ConcurrentDictionary<string, string> Payouts { get; } = new();

    public ConcurrentDictionary<int, int> PayoutRefusals { get; } = new();

    /// <summary>Checkouts whose buyer already answered the PSP's page (3-D Secure or hosted), so the settle does not again.</summary>
    public ConcurrentDictionary<string, bool> Actioned { get; } = new();

    private int _tokenFaults;

    /// <summary>Faults the simulator is certain to make: <c>pm_sim_timeout_once</c> loses one answer, <c>pm_sim_unavailable_twice</c> answers 503 twice.</summary>
    public int TokenFaults => Volatile.Read(ref _tokenFaults);

    public void AddTokenFaults(int count) => Interlocked.Add(ref _tokenFaults, count);

    public static void Count<TKey>(ConcurrentDictionary<TKey, int> counts, TKey key) where TKey : notnull =>
        counts.AddOrUpdate(key, 1, (_, count) => count + 1);
}
