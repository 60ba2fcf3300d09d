namespace Payments.PspSimulator;

/// <summary>What confirming a payment intent with a test payment method does.</summary>
public enum TestCardBehavior
{
    Succeeds,
    Declined,
    DeclinedInsufficientFunds,
    RequiresAction,
    Processing,

    /// <summary>Charged, but the first answer is lost: the connection is aborted instead.</summary>
    TimeoutOnce,

    /// <summary>HTTP 503 with <c>Retry-After</c> twice, then succeeds.</summary>
    UnavailableTwice,

    /// <summary>Charged; a refund of it succeeds at first and fails a while later (<c>refund.failed</c>), as when the card was closed.</summary>
    RefundsFail,
}

/// <summary>Stripe's test payment methods, and the simulator's own <c>pm_sim_*</c> ones.</summary>
public static class TestPaymentMethods
{
    private static readonly Dictionary<string, TestCardBehavior> Behaviors = new(StringComparer.Ordinal)
    {
        ["pm_card_visa"] = TestCardBehavior.Succeeds,
        ["pm_card_mastercard"] = TestCardBehavior.Succeeds,
        ["tok_visa"] = TestCardBehavior.Succeeds,
        ["pm_card_chargeDeclined"] = TestCardBehavior.Declined,
        ["pm_card_chargeDeclinedInsufficientFunds"] = TestCardBehavior.DeclinedInsufficientFunds,
        ["pm_card_authenticationRequired"] = TestCardBehavior.RequiresAction,
        ["pm_card_refundFail"] = TestCardBehavior.RefundsFail,
        ["pm_sim_processing"] = TestCardBehavior.Processing,
        ["pm_sim_timeout_once"] = TestCardBehavior.TimeoutOnce,
        ["pm_sim_unavailable_twice"] = TestCardBehavior.UnavailableTwice,
    };

    public static bool TryGetBehavior(string token, out TestCardBehavior behavior) =>
        Behaviors.TryGetValue(token, out behavior);
}
