using Payments.Core.PaymentOrders;
using Payments.Grains.Storage;

namespace Payments.Grains.PaymentOrders;

/// <summary>The persisted state of one payment order: its terms, state machine and outbox flags.</summary>
// Stored in Orleans' binary format (GrainStateSerializer): an [Id] is the field's name on disk, never to be reused.
[GenerateSerializer, Alias("Payments.Grains.PaymentOrderState")]
internal sealed class PaymentOrderState : IHasDurableWakeUp
{
    /// <summary>History kept in state is bounded; a retried order adds one entry per transition, not per attempt.</summary>
    public const int HistoryLengthMax = 50;

    [Id(0)]
    public bool Exists { get; set; }

    [Id(1)]
    public string MerchantId { get; set; } = string.Empty;

    [Id(2)]
    public string CheckoutId { get; set; } = string.Empty;

    [Id(3)]
    public string SellerAccount { get; set; } = string.Empty;

    [Id(4)]
    public long AmountMinor { get; set; }

    [Id(5)]
    public string Currency { get; set; } = string.Empty;

    /// <summary>The PSP token for a token payment; empty for a hosted-page payment.</summary>
    [Id(6)]
    public string PaymentMethodToken { get; set; } = string.Empty;

    [Id(7)]
    public string BuyerId { get; set; } = string.Empty;

    [Id(8)]
    public PaymentOrderStatus Status { get; set; }

    [Id(9)]
    public string? PspReference { get; set; }

    [Id(10)]
    public bool WalletUpdated { get; set; }

    [Id(11)]
    public bool LedgerUpdated { get; set; }

    [Id(12)]
    public int Attempts { get; set; }

    [Id(13)]
    public DateTimeOffset? NextRetryAt { get; set; }

    [Id(14)]
    public string? LastError { get; set; }

    [Id(15)]
    public PaymentFailure? Failure { get; set; }

    [Id(16)]
    public long RefundedMinor { get; set; }

    [Id(17)]
    public List<PaymentOrderHistoryEntry> History { get; set; } = [];

    [Id(18)]
    public DateTimeOffset CreatedAt { get; set; }

    [Id(19)]
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Parked after the retry budget ran out: nothing is retried until an operator replays it.</summary>
    [Id(20)]
    public bool DeadLettered { get; set; }

    [Id(21)]
    public DateTimeOffset? DeadLetteredAt { get; set; }

    /// <summary>The attempt count when the current retry budget began (0, or the count at the last replay).</summary>
    [Id(22)]
    public int AttemptsAtBudgetStart { get; set; }

    /// <summary>Failed rounds of wallet/ledger effects since the current budget began.</summary>
    [Id(23)]
    public int EffectFailures { get; set; }

    /// <summary>Set for a hosted-page payment: where the PSP sends the buyer back. Null for a token payment.</summary>
    [Id(24)]
    public string? ReturnUrl { get; set; }

    /// <summary>The hosted page (checkout session) registered at the PSP.</summary>
    [Id(25)]
    public string? HostedSessionId { get; set; }

    /// <summary>Where the buyer completes the payment while it is REQUIRES_ACTION.</summary>
    [Id(26)]
    public string? ActionUrl { get; set; }

    /// <summary>When we last heard from (or asked) the PSP about a payment it finishes later.</summary>
    [Id(27)]
    public DateTimeOffset? PspCheckedAt { get; set; }

    [Id(28)]
    public List<RefundState> Refunds { get; set; } = [];

    /// <summary>A failed hosted-page payment's page has been closed at the PSP, so nobody can pay on it later.</summary>
    [Id(29)]
    public bool HostedPageClosed { get; set; }

    /// <summary>
    /// When the first attempt was counted, no later than the PSP first heard of this charge (for an order created started, its
    /// creation): its idempotency key is only trusted for a while after.
    /// </summary>
    [Id(30)]
    public DateTimeOffset? FirstAttemptAt { get; set; }

    /// <summary>What the order was parked for (a <c>DeadLetterStore.Stage*</c>): only the answer to that un-parks it.</summary>
    [Id(31)]
    public string? DeadLetterStage { get; set; }

    /// <summary>When the goods were delivered (by the merchant, or automatically after <c>Fulfillment:AutoAfter</c>).</summary>
    [Id(32)]
    public DateTimeOffset? FulfilledAt { get; set; }

    /// <summary>What fulfillment moved from pending to available: the amount less what was refunded at that moment.</summary>
    [Id(33)]
    public long FulfilledMinor { get; set; }

    [Id(34)]
    public bool FulfillmentWalletUpdated { get; set; }

    [Id(35)]
    public bool FulfillmentLedgerUpdated { get; set; }

    /// <summary>Events of this order and its refunds written with their change and not yet in the event log.</summary>
    [Id(36)]
    public List<Events.OwedEvent> OwedEvents { get; set; } = [];

    /// <summary>
    /// The order became final and its checkout has not heard yet (and so cannot complete). Set by the final transition, so
    /// orders finished before there were events never tell: their checkouts made no event then and make none late.
    /// </summary>
    [Id(37)]
    public bool OwesCheckoutNotice { get; set; }

    /// <summary>The request token of the last replay, so that the same request asked again is told it replayed.</summary>
    [Id(38)]
    public string? LastReplayRequest { get; set; }

    /// <summary>When the order began to wait for the buyer: <see cref="PaymentOrderOptions.ActionTimeout"/> counts from here.</summary>
    [Id(39)]
    public DateTimeOffset? ActionRequiredAt { get; set; }

    /// <summary>A hosted page paid after its order had FAILED: that money goes back to the buyer, once.</summary>
    [Id(40)]
    public LatePaymentState? LatePayment { get; set; }

    /// <summary>Tries to cancel an expired payment at the PSP that did not get an answer: the backoff counts them.</summary>
    [Id(41)]
    public int ActionExpiryAttempts { get; set; }

    /// <summary>
    /// Created started (EXECUTING, its first attempt counted) but not yet let go by its checkout, which lets its orders go once
    /// all of them exist. Until then nothing drives it and the PSP hears nothing of it. Cleared in memory when the checkout
    /// lets it go, and stored so only with the order's next write (after the first PSP call): a stored true may be stale, and
    /// the checkout's own stored state answers the question after a crash.
    /// </summary>
    [Id(42)]
    public bool AwaitsCheckout { get; set; }

    /// <summary>
    /// The attempt last counted has not been sent yet: the create write counted the first attempt ahead of it, so the
    /// activation that made that write sends it with no write of its own. Another activation (after a crash) cannot know
    /// whether it went out, and counts and writes its attempt as any retry.
    /// </summary>
    [Id(43)]
    public bool AttemptCountedAhead { get; set; }

    // Computed, so not stored (it has no [Id]); rows written as JSON by earlier builds hold it, and reading ignores it.
    /// <summary>Fulfillment owes its move to available in wallet and ledger.</summary>
    public bool OwesFulfillmentEffects => FulfilledAt is not null && FulfilledMinor > 0 && !(FulfillmentWalletUpdated && FulfillmentLedgerUpdated);

    /// <summary>Its checkout has not let it go: created awaiting it, or stored NOT_STARTED by an earlier build.</summary>
    public bool NotLetGoByCheckout() => AwaitsCheckout || Status == PaymentOrderStatus.NotStarted;

    /// <summary>Tries of the charge since the current retry budget began (a replay begins a new one).</summary>
    public int ChargeAttemptsInBudget() => Attempts - AttemptsAtBudgetStart;

    /// <summary>The pay-in's wallet credit or its ledger booking is still owed.</summary>
    public bool OwesPayInEffects() => Status == PaymentOrderStatus.Success && !(WalletUpdated && LedgerUpdated);

    /// <summary>
    /// Money moved (at the PSP, or by fulfillment) that wallet and ledger do not show yet: the pay-in's, the fulfillment's, a
    /// refund's (or its reversal's), and a late payment's until its refund is final and booked.
    /// </summary>
    public bool OwesEffects() =>
        OwesPayInEffects() || OwesFulfillmentEffects || Refunds.Any(refund => refund.OwesEffects) || LatePayment is { IsSettled: false };

    /// <summary>
    /// Owes work, the one definition: not final yet, or a wallet or ledger move owed, or a refund still waiting on the PSP, or a
    /// failed hosted page still open at the PSP (somebody could pay on it). While it owes work (or notices, <see cref="OwesNotices"/>)
    /// the order keeps a drive wake-up, and the operations' stuck listing reads the same answer from the order's view.
    /// </summary>
    public bool OwesWork() =>
        !Status.IsFinal()
        || OwesEffects()
        || Refunds.Any(refund => refund.Status == RefundStatus.Pending)
        || (Status == PaymentOrderStatus.Failed && HostedSessionId is not null && !HostedPageClosed);

    /// <summary>What the merchant is owed rather than the money: events not yet in the log, or news for the checkout.</summary>
    public bool OwesNotices() => OwedEvents.Count > 0 || OwesCheckoutNotice;

    /// <summary>
    /// The wake-up its row holds (<see cref="PaymentOrderWakeUps"/>): beside the payload, not in it, so it has no [Id]. The
    /// explicit implementation keeps it out of the stored properties and of the JSON format.
    /// </summary>
    DurableWakeUp? IHasDurableWakeUp.WakeUp { get => _wakeUp; set => _wakeUp = value; }

    [NonSerialized]
    private DurableWakeUp? _wakeUp;
}
