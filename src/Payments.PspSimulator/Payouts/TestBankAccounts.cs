namespace Payments.PspSimulator.Payouts;

/// <summary>What happens to a payout to a test bank account.</summary>
public enum TestBankAccountBehavior
{
    /// <summary>Paid (<c>payout.paid</c>) a processing delay after it was made.</summary>
    Pays,

    /// <summary>Failed (<c>payout.failed</c>, <c>account_closed</c>) a processing delay after it was made.</summary>
    Closed,

    /// <summary>Paid, then failed (<c>account_closed</c>) one more delay later: banks return payouts days after accepting them.</summary>
    FailsAfterPaid,
}

/// <summary>The simulator's test bank accounts, the only payout destinations it knows.</summary>
public static class TestBankAccounts
{
    public const string ClosedFailureCode = "account_closed";

    /// <summary>Stripe's message for <see cref="ClosedFailureCode"/>.</summary>
    public const string ClosedFailureMessage = "The bank account has been closed.";

    private static readonly Dictionary<string, TestBankAccountBehavior> Behaviors = new(StringComparer.Ordinal)
    {
        ["ba_sim_ok"] = TestBankAccountBehavior.Pays,
        ["ba_sim_closed"] = TestBankAccountBehavior.Closed,
        ["ba_sim_fails_after_paid"] = TestBankAccountBehavior.FailsAfterPaid,
    };

    public static bool TryGetBehavior(string destination, out TestBankAccountBehavior behavior) =>
        Behaviors.TryGetValue(destination, out behavior);
}
