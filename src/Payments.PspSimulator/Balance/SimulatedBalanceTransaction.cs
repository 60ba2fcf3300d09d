namespace Payments.PspSimulator.Balance;

/// <summary>
/// One movement of the platform's balance at the PSP (Stripe's <c>txn_...</c>): a charge, a refund, a refund that
/// failed, or the PSP's payout of a day to our bank. Immutable and never updated: what a report shows of its payout
/// (<c>automatic_payout_id</c>) is looked up by its day and currency, so marking a day paid out rewrites nothing.
/// </summary>
public sealed record SimulatedBalanceTransaction
{
    public required string Id { get; init; }

    /// <summary>Unix seconds, on the simulator's clock (<see cref="SimulatorTransaction.Now"/>).</summary>
    public required long Created { get; init; }

    /// <summary>
    /// Unix seconds: when the money can be paid out (midnight UTC after <see cref="Created"/>); for a payout's own
    /// balance transaction, <see cref="Created"/> itself.
    /// </summary>
    public required long AvailableOn { get; init; }

    /// <summary>ISO 4217 code, lower case as Stripe gives it.</summary>
    public required string Currency { get; init; }

    /// <summary>Gross, in minor units: positive for money in (charge, refund failure), negative for money out.</summary>
    public required long Amount { get; init; }

    /// <summary>The PSP's fee, in minor units (never negative).</summary>
    public required long Fee { get; init; }

    /// <summary><see cref="Amount"/> less <see cref="Fee"/>.</summary>
    public required long Net { get; init; }

    /// <summary><c>charge</c>, <c>refund</c>, <c>refund_failure</c> or <c>payout</c>.</summary>
    public required string ReportingCategory { get; init; }

    /// <summary>What moved the balance: the charge (<c>ch_</c>), refund (<c>re_</c>) or automatic payout (<c>po_sim_</c>).</summary>
    public required string Source { get; init; }

    public string? PaymentIntent { get; init; }

    /// <summary>The payment's <c>metadata[payment_order_id]</c>, our id of it, if it has one.</summary>
    public string? PaymentOrderId { get; init; }

    /// <summary>The UTC day of <see cref="Created"/>: the day whose payout carries it (for a payout's own row, the day it pays out).</summary>
    public DateOnly Day => DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(Created).UtcDateTime);
}

/// <summary>The PSP's payout to our bank of one day's balance transactions in one currency (<c>po_sim_...</c>).</summary>
public sealed record SimulatedAutomaticPayout
{
    public required string Id { get; init; }

    /// <summary>The UTC day whose balance transactions it carries.</summary>
    public required DateOnly Day { get; init; }

    public required string Currency { get; init; }

    /// <summary>The sum of the day's nets, in minor units (negative when refunds outweighed charges).</summary>
    public required long Amount { get; init; }

    /// <summary>Unix seconds: the end of <see cref="Day"/>, when the simulator's clock passed it and the money left for the bank.</summary>
    public required long Created { get; init; }

    /// <summary>
    /// Its own balance transaction (category <c>payout</c>, amount −<see cref="Amount"/>), created a second before
    /// <see cref="Created"/>: in the last second of <see cref="Day"/>, so that it is in that day's report.
    /// </summary>
    public required string BalanceTransaction { get; init; }
}
