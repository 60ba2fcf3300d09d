using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Core.Ledger;
using Payments.Core.Money;
using Payments.Core.Payouts;
using Payments.Core.Wallets;
using Payments.Grains.DeadLetters;
using Payments.Grains.Events;
using Payments.Grains.PaymentOrders;
using Payments.Psp;

namespace Payments.Grains.Payouts;

/// <summary>
/// One payout: the money is reserved in the seller's wallet before the PSP hears of it, the PSP is called with
/// Idempotency-Key = payout_id, and every change of status is written before its side effect. The ledger and wallet moves
/// are an outbox in state, applied until their flags are set; a reminder is the crash net while anything is owed.
/// </summary>
internal sealed partial class PayoutGrain(
    [PersistentState("payout", GrainStorage.Name)] IPersistentState<PayoutState> payout,
    IPspClient psp,
    DeadLetterStore deadLetters,
    PayoutIndex index,
    IOptions<PaymentOrderOptions> options,
    IOptions<PayoutOptions> payoutOptions,
    EventOutbox events,
    TimeProvider time,
    ILogger<PayoutGrain> logger) : Grain, IPayoutGrain, IRemindable
{
    private const string DriveReminderName = "drive";

    /// <summary>A paid payout's slow reminder while it is watched for a return: "drive" keeps meaning "owes work".</summary>
    private const string ReturnWatchReminderName = "return_watch";

    /// <summary>How far back the PSP's payouts are searched past our first attempt (clocks differ).</summary>
    private static readonly TimeSpan SearchMargin = TimeSpan.FromHours(1);

    private WakeUpTimer? _wakeUp;
    private bool _watchingForReturn;

    private string PayoutId => this.GetPrimaryKeyString();

    private PayoutState State => payout.State;

    private string ReservationId => $"payout:{PayoutId}";

    private WakeUpTimer WakeUp => _wakeUp ??= new WakeUpTimer(this, DriveAsync, time);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        AssertConsistent();
        return Task.CompletedTask;
    }

    public async Task<CreatePayoutResult> CreateAsync(CreatePayout command)
    {
        if (State.Exists)
        {
            var sameTerms = State.MerchantId == command.MerchantId && State.SellerAccount == command.SellerAccount && State.Currency == command.Currency
                && (command.AmountMinor is null || command.AmountMinor == (State.Reserved ? State.AmountMinor : State.RequestedMinor));
            if (!sameTerms)
            {
                return new CreatePayoutResult(CreatePayoutOutcome.ExistsWithDifferentTerms, null, 0);
            }

            // Whatever the first request left undone (it died mid-way) goes on now. The request that created it, asked again
            // (the gateway lost the first answer with a silo), is told Created: what the first answer said.
            await DriveAsync();
            var sameRequest = command.RequestToken is not null && State.CreatedByRequest == command.RequestToken;
            return new CreatePayoutResult(
                !State.Exists ? CreatePayoutOutcome.InsufficientFunds : sameRequest ? CreatePayoutOutcome.Created : CreatePayoutOutcome.AlreadyExists,
                State.Exists ? ToView() : null,
                0);
        }

        // The reminder and the listing go first: should we die right after the state is written, the payout is still
        // driven, and still listed.
        await RegisterDriveReminderAsync();
        var now = time.GetUtcNow();
        await index.RecordPayoutAsync(PayoutId, command.MerchantId, command.SellerAccount, command.Currency, now);
        payout.State = new PayoutState
        {
            Exists = true,
            MerchantId = command.MerchantId,
            SellerAccount = command.SellerAccount,
            Currency = command.Currency,
            RequestedMinor = command.AmountMinor,
            Destination = command.Destination,
            CreatedByRequest = command.RequestToken,
            Status = PayoutStatus.Pending,
            History = [new PayoutHistoryEntry(PayoutStatus.Pending, now)],
            CreatedAt = now,
            UpdatedAt = now,
        };
        await PersistAsync();
        var (reserved, available) = await ReserveAsync();
        if (!reserved)
        {
            return new CreatePayoutResult(CreatePayoutOutcome.InsufficientFunds, null, available);
        }

        await DriveAsync();
        return new CreatePayoutResult(CreatePayoutOutcome.Created, ToView(), available);
    }

    public Task<PayoutView?> GetAsync() => Task.FromResult(State.Exists ? ToView() : null);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!State.Exists)
        {
            await UnregisterReminderAsync(reminderName);
            return;
        }

        _watchingForReturn |= reminderName == ReturnWatchReminderName;

        await DriveAsync();
    }

    /// <summary>
    /// Holds the money in the wallet, which refuses (as a result, changing nothing) what is not available. Refused, the
    /// payout never existed: its state and listing go. Asked again after a crash, the wallet answers what it holds.
    /// </summary>
    private async Task<(bool Reserved, long AvailableMinor)> ReserveAsync()
    {
        var wallet = GrainFactory.GetGrain<ISellerWalletGrain>(State.SellerAccount);
        var result = await wallet.ReserveAsync(new ReserveFunds(ReservationId, State.Currency, State.RequestedMinor));
        if (result.Outcome == ReserveFundsOutcome.InsufficientFunds)
        {
            await payout.ClearStateAsync();
            payout.State = new PayoutState();
            await index.ForgetPayoutAsync(PayoutId);
            await UnregisterDriveReminderAsync();
            return (false, result.AvailableMinor);
        }

        State.AmountMinor = result.AmountMinor;
        State.Reserved = true;
        State.UpdatedAt = time.GetUtcNow();
        AssertConsistent();
        await PersistAsync();
        return (true, result.AvailableMinor);
    }

    /// <summary>Takes the payout as far as it can go now; leaves a timer behind when it has to wait.</summary>
    private async Task DriveAsync()
    {
        if (!State.Exists)
        {
            return;
        }

        if (State.DeadLettered)
        {
            // Parked until an operator replays it. The row is written again in case we died right after parking. Its events
            // are not parked with it.
            await RecordDeadLetterAsync();
            await WriteOwedEventsAsync();
            return;
        }

        if (!State.Reserved && !(await ReserveAsync()).Reserved)
        {
            return;
        }

        if (!State.ReservationBooked)
        {
            // The ledger shows the reservation before the PSP hears of the payout, as the wallet does: until it is booked the
            // PSP is not asked (the timer, or the reminder, tries again).
            await ApplyEffectsAsync();
            if (!State.ReservationBooked)
            {
                return;
            }
        }

        if (State.Status == PayoutStatus.Pending)
        {
            if (State.NextRetryAt is { } due && due > time.GetUtcNow())
            {
                WakeUp.Arm(due - time.GetUtcNow());
            }
            else
            {
                await CallPspAsync();
            }
        }

        if (State.Status == PayoutStatus.InTransit || (State.Status == PayoutStatus.Paid && InReturnWatch()))
        {
            await CheckPspIfDueAsync();
        }

        if (!State.DeadLettered)
        {
            await ApplyEffectsAsync();
        }

        await WriteOwedEventsAsync();
        if (State.IsDone)
        {
            WakeUp.Cancel();
            if (InReturnWatch())
            {
                await WatchForReturnAsync();
            }
            else if (_watchingForReturn)
            {
                await UnregisterReminderAsync(ReturnWatchReminderName);
                _watchingForReturn = false;
            }

            await UnregisterDriveReminderAsync();
        }
    }

    /// <summary>A paid payout is watched for a while: the bank may still send it back.</summary>
    private bool InReturnWatch() =>
        State.Status == PayoutStatus.Paid
        && State.History.FirstOrDefault(entry => entry.Status == PayoutStatus.Paid) is { } paid
        && time.GetUtcNow() < paid.At + payoutOptions.Value.ReturnWatch;

    /// <summary>
    /// While a paid payout is watched, a reminder of its own wakes it only as often as it asks the PSP, not every minute: it
    /// owes nothing, and may wait days. Registered before the drive reminder goes, so the watch is never without one.
    /// </summary>
    private async Task WatchForReturnAsync()
    {
        if (!_watchingForReturn)
        {
            var every = payoutOptions.Value.PspPollAfter;
            await this.RegisterOrUpdateReminder(ReturnWatchReminderName, every, every);
            _watchingForReturn = true;
        }
    }

    private async Task CallPspAsync()
    {
        // Write-ahead: the attempt is on record before the PSP hears of it.
        var now = time.GetUtcNow();
        var keyMayBeForgotten = State.FirstAttemptAt is { } first && now - first > options.Value.PspIdempotencyWindow;
        var previousAttemptAt = State.LastAttemptAt ?? now;
        State.Attempts++;
        State.FirstAttemptAt ??= now;
        State.LastAttemptAt = now;
        State.NextRetryAt = null;
        State.UpdatedAt = now;
        await PersistAsync();

        // Past the window the PSP may have forgotten our idempotency key, and creating again could pay twice: look for an
        // earlier payout first, and create only when there is none.
        var earlier = keyMayBeForgotten
            ? await psp.FindPayoutAsync(PayoutId, State.FirstAttemptAt.Value - SearchMargin, previousAttemptAt + SearchMargin, CancellationToken.None)
            : null;
        var outcome = earlier ?? await psp.CreatePayoutAsync(
            new PspPayoutRequest(PayoutId, State.SellerAccount, State.AmountMinor, State.Currency, State.Destination), CancellationToken.None);
        if (outcome.Status == PspPayoutStatus.Unknown)
        {
            // Not a failure: the PSP may have accepted it. Ask again later with the same idempotency key.
            State.LastError = outcome.FailureMessage ?? outcome.FailureCode ?? "unknown PSP outcome";
            var retry = options.Value.Retry;
            var attempts = State.Attempts - State.AttemptsAtBudgetStart;
            if (attempts >= retry.AttemptsMax)
            {
                Park(DeadLetterStore.StagePspPayout);
                LogParked(logger, PayoutId, State.Attempts, State.LastError);
            }
            else
            {
                var delay = RetryDelay.Next(attempts, retry.DelayBase, retry.DelayMax, outcome.RetryAfter, Random.Shared);
                PaymentsMetrics.PspRetries.Add(1, new KeyValuePair<string, object?>("operation", "payout"));
                State.NextRetryAt = time.GetUtcNow() + delay;
                WakeUp.Arm(delay);
                LogRetrying(logger, PayoutId, State.Attempts, State.LastError, State.NextRetryAt.Value);
            }
        }
        else
        {
            Apply(outcome.Status, outcome.PspPayoutId, outcome.FailureCode, outcome.FailureMessage, outcome.ArrivalDate);
        }

        State.UpdatedAt = time.GetUtcNow();
        AssertConsistent();
        await PersistAsync();
        if (State.DeadLettered)
        {
            await RecordDeadLetterAsync();
        }
    }

    /// <summary>
    /// Asks the PSP about a payout in transit (or paid, while it is watched for a return) once it has been quiet for
    /// <see cref="PayoutOptions.PspPollAfter"/>: a lost webhook delays a payout, never strands it.
    /// </summary>
    private async Task CheckPspIfDueAsync()
    {
        var pollAfter = payoutOptions.Value.PspPollAfter;
        // A tenth early is on time: a reminder or timer set for the interval comes a hair after the last check was stored.
        var due = (State.PspCheckedAt ?? State.UpdatedAt) + pollAfter - (pollAfter / 10);
        var now = time.GetUtcNow();
        if (due > now || State.PspPayoutId is not { } pspPayoutId)
        {
            if (State.Status == PayoutStatus.InTransit)
            {
                // Not kept alive for it: if the payout is deactivated meanwhile, its reminder brings it back.
                WakeUp.Arm(due - now, keepAlive: false);
            }

            return;
        }

        var outcome = await psp.GetPayoutAsync(PayoutId, pspPayoutId, CancellationToken.None);
        State.PspCheckedAt = time.GetUtcNow();
        if (outcome.Status == PspPayoutStatus.Failed && State.Status == PayoutStatus.Paid)
        {
            // Returned: the drive reminder comes back before anything changes, as for the webhook.
            await RegisterDriveReminderAsync();
        }

        if (outcome.Status is PspPayoutStatus.Paid or PspPayoutStatus.Failed)
        {
            LogLookedUp(logger, PayoutId, outcome.Status);
            Apply(outcome.Status, outcome.PspPayoutId, outcome.FailureCode, outcome.FailureMessage, outcome.ArrivalDate);
        }
        else if (State.Status == PayoutStatus.InTransit)
        {
            WakeUp.Arm(pollAfter, keepAlive: false);
        }

        State.UpdatedAt = State.PspCheckedAt.Value;
        AssertConsistent();
        await PersistAsync();
    }

    public async Task<PayoutNoticeOutcome> ApplyPspNoticeAsync(PayoutNotice notice)
    {
        if (!State.Exists)
        {
            return PayoutNoticeOutcome.UnknownPayout;
        }

        if (notice.Kind == PayoutNoticeKind.Failed && State.Status == PayoutStatus.Paid)
        {
            // A paid payout has no drive reminder, and the bank's return makes it owe bookings again: the reminder first,
            // before anything changes, so that a crash after the change is stored still books the return soon.
            await RegisterDriveReminderAsync();
        }

        if (notice.PspPayoutId is { } pspPayoutId && State.PspPayoutId is { } ours && pspPayoutId != ours)
        {
            // Another PSP payout names our payout id: it says nothing of ours, and must not move our money.
            LogForeignNotice(logger, PayoutId, pspPayoutId, ours);
            return PayoutNoticeOutcome.Ignored;
        }

        var applied = notice.Kind switch
        {
            PayoutNoticeKind.Paid => Apply(PspPayoutStatus.Paid, notice.PspPayoutId, null, null, null),
            PayoutNoticeKind.Failed => Apply(PspPayoutStatus.Failed, notice.PspPayoutId, notice.FailureCode, notice.FailureMessage, null),
            _ => false,
        };
        if (!applied)
        {
            // Late, duplicated or out of order: an event never moves a payout backwards.
            return PayoutNoticeOutcome.Ignored;
        }

        // Parked because we could not learn the outcome, and now the PSP tells it: nothing left for an operator.
        var resolvesDeadLetter = State.DeadLettered && State.DeadLetterStage == DeadLetterStore.StagePspPayout;
        if (resolvesDeadLetter)
        {
            Unpark();
        }

        State.UpdatedAt = time.GetUtcNow();
        AssertConsistent();
        await PersistAsync();
        if (resolvesDeadLetter)
        {
            await RegisterDriveReminderAsync();
            await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPayout, PayoutId, State.UpdatedAt);
        }

        await DriveAsync();
        return PayoutNoticeOutcome.Applied;
    }

    /// <summary>
    /// Moves the payout on with what the PSP says, whether it came in the response, a webhook or a lookup: the one place the
    /// state machine advances. False when the payout is past that already.
    /// </summary>
    private bool Apply(PspPayoutStatus status, string? pspPayoutId, string? failureCode, string? failureMessage, DateTimeOffset? arrivalDate)
    {
        var next = status switch
        {
            PspPayoutStatus.InTransit => PayoutStatus.InTransit,
            PspPayoutStatus.Paid => PayoutStatus.Paid,
            PspPayoutStatus.Failed => PayoutStatus.Failed,
            _ => throw new UnreachableException($"Payout status {status} is not an answer."),
        };
        if (!State.Status.CanMoveTo(next))
        {
            return false;
        }

        State.PspPayoutId ??= pspPayoutId;
        State.ArrivalDate = arrivalDate ?? State.ArrivalDate;
        State.PspCheckedAt = time.GetUtcNow();
        State.NextRetryAt = null;
        State.LastError = null;
        if (next == PayoutStatus.Failed)
        {
            State.ReturnedAfterPaid = State.Status == PayoutStatus.Paid;
            State.Failure = new PayoutFailure(failureCode ?? "payout_failed", failureMessage ?? "The payout did not reach the seller's bank account.");
            LogFailed(logger, PayoutId, State.Failure.Code, State.ReturnedAfterPaid);
        }

        Transition(next);
        return true;
    }

    public async Task<ReplayPayoutResult> ReplayAsync(string? requestToken)
    {
        if (State.Exists && requestToken is not null && State.LastReplayRequest == requestToken)
        {
            // This very replay again (the gateway lost the first answer with a silo): it did replay.
            return new ReplayPayoutResult(ReplayPayoutOutcome.Replayed, ToView());
        }

        if (!State.Exists || !State.DeadLettered)
        {
            if (State.Exists)
            {
                // A row left 'parked' by a crash between un-parking the payout and marking its row: settle the row.
                await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPayout, PayoutId, time.GetUtcNow());
            }

            return new ReplayPayoutResult(ReplayPayoutOutcome.NotParked, State.Exists ? ToView() : null);
        }

        Unpark();
        State.LastReplayRequest = requestToken;
        State.UpdatedAt = time.GetUtcNow();
        await PersistAsync();
        await RegisterDriveReminderAsync();
        await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPayout, PayoutId, State.UpdatedAt);
        await DriveAsync();
        return new ReplayPayoutResult(ReplayPayoutOutcome.Replayed, ToView());
    }

    private void Park(string stage)
    {
        PaymentsMetrics.DeadLettersParked.Add(1, new("subject", DeadLetterStore.SubjectPayout), new("stage", stage));
        State.DeadLettered = true;
        State.DeadLetteredAt = time.GetUtcNow();
        State.DeadLetterStage = stage;
        State.NextRetryAt = null;
        WakeUp.Cancel();
    }

    /// <summary>Back to work with a fresh budget: the attempts so far stay on record, the count toward the limit starts again.</summary>
    private void Unpark()
    {
        State.DeadLettered = false;
        State.DeadLetteredAt = null;
        State.DeadLetterStage = null;
        State.AttemptsAtBudgetStart = State.Attempts;
        State.EffectFailures = 0;
        State.NextRetryAt = null;
    }

    private Task RecordDeadLetterAsync() => deadLetters.ParkAsync(
        DeadLetterStore.SubjectPayout,
        PayoutId,
        State.MerchantId,
        State.DeadLetterStage ?? DeadLetterStore.StagePspPayout,
        State.DeadLetterStage == DeadLetterStore.StageEffects ? State.EffectFailures : State.Attempts,
        State.LastError ?? "unknown",
        State.DeadLetteredAt ?? State.UpdatedAt);

    private void Transition(PayoutStatus next)
    {
        if (!State.Status.CanMoveTo(next))
        {
            throw new InvalidOperationException($"Payout {PayoutId}: {State.Status} -> {next} is not a valid transition.");
        }

        if (next is PayoutStatus.Paid or PayoutStatus.Failed)
        {
            // A payout that fails after it was paid is one the bank sent back.
            var outcome = next == PayoutStatus.Paid ? "paid" : State.Status == PayoutStatus.Paid ? "returned" : "failed";
            PaymentsMetrics.PayoutsFinished.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        }

        var now = time.GetUtcNow();
        State.Status = next;
        State.UpdatedAt = now;
        if (State.History.Count < PayoutState.HistoryLengthMax)
        {
            State.History.Add(new PayoutHistoryEntry(next, now));
        }

        OweEvent(next);
    }

    private void AssertConsistent()
    {
        if (!State.Exists)
        {
            return;
        }

        if (!Currency.TryGet(State.Currency, out _) || (State.Reserved && State.AmountMinor <= 0) || State.RequestedMinor is <= 0)
        {
            throw new InvalidOperationException($"Payout {PayoutId} has an invalid amount {State.AmountMinor} {State.Currency}.");
        }

        if (!State.Reserved && (State.Status != PayoutStatus.Pending || State.Attempts > 0))
        {
            throw new InvalidOperationException($"Payout {PayoutId} went to the PSP without a reservation.");
        }

        if (State.ReturnedAfterPaid && State.Status != PayoutStatus.Failed)
        {
            throw new InvalidOperationException($"Payout {PayoutId} is returned but {State.Status}.");
        }
    }

    /// <summary>
    /// Writes the state, then the events it owes. The payout's changes are not undone one by one on failure: the activation goes away and the next
    /// call starts again from what is stored, which the write-ahead design makes safe. Its timer goes with it.
    /// </summary>
    private async Task PersistAsync()
    {
        RenderOwedEvents();
        await payout.WriteOrUndoAsync(this, WakeUp.Cancel);
        await WriteOwedEventsAsync();
    }

    /// <summary>The durable net: while a payout owes work, its reminder wakes it (after a crash, too).</summary>
    private Task RegisterDriveReminderAsync() =>
        this.RegisterOrUpdateReminder(DriveReminderName, options.Value.ReminderPeriod, options.Value.ReminderPeriod);

    private Task UnregisterDriveReminderAsync() => UnregisterReminderAsync(DriveReminderName);

    private async Task UnregisterReminderAsync(string name)
    {
        var reminder = await this.GetReminder(name);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private PayoutView ToView() => new(
        PayoutId,
        State.MerchantId,
        State.SellerAccount,
        new Money(State.Reserved ? State.AmountMinor : State.RequestedMinor ?? 0, Currency.Get(State.Currency)),
        State.Status,
        State.Destination,
        State.PspPayoutId,
        State.Failure,
        State.CreatedAt,
        State.UpdatedAt,
        State.ArrivalDate,
        State.History.ToArray(),
        State.Attempts,
        State.NextRetryAt,
        State.DeadLettered,
        State.OwesEffects);

    [LoggerMessage(Level = LogLevel.Error, Message = "Payout {PayoutId}: PSP outcome still unknown after {Attempts} attempts ({Error}); parked as a dead letter")]
    private static partial void LogParked(ILogger logger, string payoutId, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payout {PayoutId}: PSP outcome unknown after attempt {Attempt} ({Error}); retrying at {NextRetryAt}")]
    private static partial void LogRetrying(ILogger logger, string payoutId, int attempt, string error, DateTimeOffset nextRetryAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Payout {PayoutId}: no webhook came, the PSP says {Status}")]
    private static partial void LogLookedUp(ILogger logger, string payoutId, PspPayoutStatus status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Payout {PayoutId}: a webhook of PSP payout {PspPayoutId} names it, but it is PSP payout {Ours}; ignored, needs investigation")]
    private static partial void LogForeignNotice(ILogger logger, string payoutId, string pspPayoutId, string ours);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payout {PayoutId} failed ({FailureCode}); returned after it was paid: {Returned}")]
    private static partial void LogFailed(ILogger logger, string payoutId, string failureCode, bool returned);
}
