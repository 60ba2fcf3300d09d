namespace Payments.Reconciliation.Matching;

/// <summary>What a run compares against, and how patient it is.</summary>
/// <param name="SettlementLag">How long our booking may wait for the PSP's report (or the bank's statement) to show it before that is a break.</param>
/// <param name="LookBack">How far before the run's date our bookings are checked for a missing counterpart.</param>
/// <param name="PspReceivableAccount">The ledger account of what the PSP owes us (<c>psp_receivable:stripe</c>).</param>
/// <param name="PspFeesAccount">The ledger account of the PSP's fees.</param>
/// <param name="CashAccount">The ledger account of our bank account, where the PSP settles and seller payouts leave from.</param>
public sealed record MatchingSettings(
    TimeSpan SettlementLag,
    TimeSpan LookBack,
    string PspReceivableAccount,
    string PspFeesAccount,
    string CashAccount);

/// <summary>What a payment order named by a break can do about it: the class of the break depends on it.</summary>
public enum OrderStanding
{
    /// <summary>No such order: the PSP's record is not of one of ours.</summary>
    Unknown = 0,

    /// <summary>The order can ask the PSP and book what it hears (it is not final, or parked, or succeeded with refunds to check).</summary>
    CanAskPsp = 1,

    /// <summary>The order is FAILED: what the PSP says contradicts a final answer of ours, and a person must decide.</summary>
    Failed = 2,
}

/// <summary>Tells the standing of each payment order named (ids without an answer count as unknown).</summary>
public delegate Task<IReadOnlyDictionary<string, OrderStanding>> OrderStandingLookup(IReadOnlyCollection<string> paymentOrderIds, CancellationToken cancellationToken);

/// <summary>The run being matched.</summary>
public sealed record MatchingRun(string RunId, string Source, DateOnly Date, DateTimeOffset Now);

/// <summary>How many of the run's lines agreed with our books.</summary>
public sealed record MatchingResult(long Lines, long Matched);
