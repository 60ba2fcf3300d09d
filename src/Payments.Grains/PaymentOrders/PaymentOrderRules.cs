namespace Payments.Grains.PaymentOrders;

/// <summary>
/// The decisions of one payment order, built once per activation from its options and clock. They change the state they are
/// given and say what to do next; the grain performs it (storage, the PSP, wallet and ledger, timers and the wake-up stored with the state).
/// </summary>
internal sealed class PaymentOrderRules
{
    public PaymentOrderRules(string paymentOrderId, PaymentOrderOptions options, FulfillmentOptions fulfillment, TimeProvider time, Random random)
    {
        Budget = new RetryBudget(options.Retry, random);
        Parking = new PaymentOrderParking(time, Budget);
        Charge = new ChargeStateMachine(paymentOrderId, options, time, Budget, Parking);
        LatePayments = new LatePayments(paymentOrderId, options, time, Budget);
        Polling = new PspPolling(options, time, Budget, Charge, LatePayments);
        Refunds = new RefundStateMachine(paymentOrderId, options, time, Budget, Parking);
        Notices = new PspNotices(Charge, Refunds, LatePayments, Parking, Budget, time);
        Outbox = new PaymentOrderOutbox(paymentOrderId, Budget, Parking);
        Fulfillment = new OrderFulfillment(fulfillment, time);
        WakeUps = new PaymentOrderWakeUps(options, Fulfillment, time);
    }

    public RetryBudget Budget { get; }

    public PaymentOrderParking Parking { get; }

    public ChargeStateMachine Charge { get; }

    public LatePayments LatePayments { get; }

    public PspPolling Polling { get; }

    public RefundStateMachine Refunds { get; }

    public PspNotices Notices { get; }

    public PaymentOrderOutbox Outbox { get; }

    public OrderFulfillment Fulfillment { get; }

    public PaymentOrderWakeUps WakeUps { get; }
}
