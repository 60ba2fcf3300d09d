using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
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
/// The grain is the shell: it activates, stores, keeps the timer and reminders, and performs the I/O that the decision
/// classes beside it (<see cref="PayoutStateMachine"/>, <see cref="PayoutRetryBudget"/>, <see cref="PayoutLookups"/>,
/// <see cref="PayoutMoneyMoves"/>, ...) ask for.
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

    private WakeUpTimer? _wakeUp;
    private bool _watchingForReturn;

    private string PayoutId => this.GetPrimaryKeyString();

    private PayoutState State => payout.State;

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
            if (!PayoutCreation.HasSameTerms(State, command))
            {
                return new CreatePayoutResult(CreatePayoutOutcome.ExistsWithDifferentTerms, null, 0);
            }

            // Whatever the first request left undone (it died mid-way) goes on now.
            await DriveAsync();
            return new CreatePayoutResult(PayoutCreation.OutcomeOfRepeat(State, command), State.Exists ? ToView() : null, 0);
        }

        // The reminder and the listing go first: should we die right after the state is written, the payout is still
        // driven, and still listed.
        await RegisterDriveReminderAsync();
        var now = time.GetUtcNow();
        await index.RecordPayoutAsync(PayoutId, command.MerchantId, command.SellerAccount, command.Currency, now);
        payout.State = PayoutCreation.Open(command, now);
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

    public async Task<ReplayPayoutResult> ReplayAsync(string? requestToken)
    {
        if (PayoutParking.IsRepeatOfLastReplay(State, requestToken))
        {
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

        PayoutParking.Replay(State, requestToken, time.GetUtcNow());
        await PersistAsync();
        await RegisterDriveReminderAsync();
        await deadLetters.MarkReplayedAsync(DeadLetterStore.SubjectPayout, PayoutId, State.UpdatedAt);
        await DriveAsync();
        return new ReplayPayoutResult(ReplayPayoutOutcome.Replayed, ToView());
    }

    /// <summary>
    /// Holds the money in the wallet, which refuses (as a result, changing nothing) what is not available. Refused, the
    /// payout never existed: its state and listing go. Asked again after a crash, the wallet answers what it holds.
    /// </summary>
    private async Task<(bool Reserved, long AvailableMinor)> ReserveAsync()
    {
        var wallet = GrainFactory.GetGrain<ISellerWalletGrain>(State.SellerAccount);
        var result = await wallet.ReserveAsync(new ReserveFunds(PayoutMoneyMoves.ReservationOperationId(PayoutId), State.Currency, State.RequestedMinor));
        if (result.Outcome == ReserveFundsOutcome.InsufficientFunds)
        {
            await payout.ClearStateAsync();
            payout.State = new PayoutState();
            await index.ForgetPayoutAsync(PayoutId);
            await UnregisterDriveReminderAsync();
            return (false, result.AvailableMinor);
        }

        PayoutCreation.TakeReservation(State, result.AmountMinor, time.GetUtcNow());
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
            if (PayoutPspAttempt.WaitBeforeNext(State, time.GetUtcNow()) is { } wait)
            {
                WakeUp.Arm(wait);
            }
            else
            {
                await CallPspAsync();
            }
        }

        if (PayoutLookups.IsWatched(State, time.GetUtcNow(), payoutOptions.Value.ReturnWatch))
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
            if (PayoutLookups.InReturnWatch(State, time.GetUtcNow(), payoutOptions.Value.ReturnWatch))
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

    /// <summary>The grain's part of parking, once the budget has parked the state: count it, and stop the timer.</summary>
    private void Parked(string stage)
    {
        PaymentsMetrics.DeadLettersParked.Add(1, new("subject", DeadLetterStore.SubjectPayout), new("stage", stage));
        WakeUp.Cancel();
    }

    private Task RecordDeadLetterAsync()
    {
        var row = PayoutParking.Row(State);
        return deadLetters.ParkAsync(DeadLetterStore.SubjectPayout, PayoutId, State.MerchantId, row.Stage, row.Attempts, row.LastError, row.ParkedAt);
    }

    private void AssertConsistent() => PayoutInvariants.Assert(PayoutId, State);

    /// <summary>
    /// Writes the state, then the events it owes. The payout's changes are not undone one by one on failure: the activation goes away and the next
    /// call starts again from what is stored, which the write-ahead design makes safe. Its timer goes with it.
    /// </summary>
    private async Task PersistAsync()
    {
        PayoutEvents.Render(State, PayoutId);
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

    private PayoutView ToView() => PayoutViews.Of(PayoutId, State);
}
