namespace Payments.Core.DeadLetters;

/// <summary>What a dead letter parks: the names the dead-letter table and the operator routes share.</summary>
public static class DeadLetterKinds
{
    public const string PaymentOrder = "payment_order";
    public const string Payout = "payout";
}
