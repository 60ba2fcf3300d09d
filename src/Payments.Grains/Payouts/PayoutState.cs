using Payments.Core.Payouts;

namespace Payments.Grains.Payouts;

/// <summary>The persisted state of one payout: its terms, state machine, PSP attempts and outbox flags.</summary>
// Stored in Orleans' binary format (GrainStateSerializer): an [Id] is the field's name on disk, never to be reused.
[GenerateSerializer, Alias("Payments.Grains.PayoutState")]
internal sealed class PayoutState
{
    public const int HistoryLengthMax = 20;

    [Id(0)]
    public bool Exists { get; set; }

    [Id(1)]
    public string MerchantId { get; set; } = string.Empty;

    [Id(2)]
    public string SellerAccount { get; set; } = string.Empty;

    [Id(3)]
    public string Currency { get; set; } = string.Empty;

    /// <summary>What the request asked for; null for "all that is available".</summary>
    [Id(4)]
    public long? RequestedMinor { get; set; }

    /// <summary>What the wallet reserved: the payout's amount, known once <see cref="Reserved"/>.</summary>
    [Id(5)]
    public long AmountMinor { get; set; }

    [Id(6)]
    public bool Reserved { get; set; }

    [Id(7)]
    public string Destination { get; set; } = string.Empty;

    [Id(8)]
    public PayoutStatus Status { get; set; }

    [Id(9)]
    public string? PspPayoutId { get; set; }

    [Id(10)]
    public int Attempts { get; set; }

    [Id(11)]
    public int AttemptsAtBudgetStart { get; set; }

    [Id(12)]
    public DateTimeOffset? FirstAttemptAt { get; set; }

    [Id(13)]
    public DateTimeOffset? NextRetryAt { get; set; }

    [Id(14)]
    public string? LastError { get; set; }

    [Id(15)]
    public PayoutFailure? Failure { get; set; }

    [Id(16)]
    public DateTimeOffset? ArrivalDate { get; set; }

    [Id(17)]
    public List<PayoutHistoryEntry> History { get; set; } = [];

    [Id(18)]
    public DateTimeOffset CreatedAt { get; set; }

    [Id(19)]
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>When we last heard from (or asked) the PSP about a payout in transit.</summary>
    [Id(20)]
    public DateTimeOffset? PspCheckedAt { get; set; }

    [Id(21)]
    public bool DeadLettered { get; set; }

    [Id(22)]
    public DateTimeOffset? DeadLetteredAt { get; set; }

    [Id(23)]
    public string? DeadLetterStage { get; set; }

    [Id(24)]
    public int EffectFailures { get; set; }

    /// <summary>The reservation's ledger booking (available → reserved); the wallet reserved when <see cref="Reserved"/> was set.</summary>
    [Id(25)]
    public bool ReservationBooked { get; set; }

    [Id(26)]
    public bool PaidWalletUpdated { get; set; }

    [Id(27)]
    public bool PaidLedgerUpdated { get; set; }

    [Id(28)]
    public bool FailedWalletUpdated { get; set; }

    [Id(29)]
    public bool FailedLedgerUpdated { get; set; }

    /// <summary>
    /// The PSP said PAID and later that it failed (the bank sent the money back): the paid booking stands and is itself
    /// reversed, rather than guessed away.
    /// </summary>
    [Id(30)]
    public bool ReturnedAfterPaid { get; set; }

    [Id(31)]
    public bool ReturnWalletUpdated { get; set; }

    [Id(32)]
    public bool ReturnLedgerUpdated { get; set; }

    /// <summary>The latest attempt at the PSP: a payout made then was created no later than this (and the search margin).</summary>
    [Id(33)]
    public DateTimeOffset? LastAttemptAt { get; set; }

    /// <summary>Events of this payout written with their change and not yet in the event log.</summary>
    [Id(34)]
    public List<Events.OwedEvent> OwedEvents { get; set; } = [];

    /// <summary>The request token of the request that created the payout: the same request asked again is told Created.</summary>
    [Id(35)]
    public string? CreatedByRequest { get; set; }

    /// <summary>The request token of the last replay, so that the same request asked again is told it replayed.</summary>
    [Id(36)]
    public string? LastReplayRequest { get; set; }

    /// <summary>The money reached the seller at some point: its move to paid out is owed (and stays booked).</summary>
    public bool WasPaid => Status == PayoutStatus.Paid || ReturnedAfterPaid;

    /// <summary>
    /// Moves of money that wallet or ledger do not show yet: the one definition of "owes effects". Not yet reserved counts:
    /// the wallet may hold the reservation already (a crash before it was recorded here), and the ledger does not.
    /// </summary>
    public bool OwesEffects =>
        !Reserved
        || !ReservationBooked
        || (WasPaid && !(PaidWalletUpdated && PaidLedgerUpdated))
        || (Status == PayoutStatus.Failed && !ReturnedAfterPaid && !(FailedWalletUpdated && FailedLedgerUpdated))
        || (ReturnedAfterPaid && !(ReturnWalletUpdated && ReturnLedgerUpdated));

    /// <summary>Nothing left to do: no PSP call, no lookup, no booking, no event. A PAID payout can still be reopened by the bank.</summary>
    public bool IsDone => Exists && Reserved && Status.IsFinal() && !OwesEffects && OwedEvents.Count == 0;
}
