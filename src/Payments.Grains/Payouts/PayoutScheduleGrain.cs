using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Core.Payouts;
using Payments.Core.Wallets;

namespace Payments.Grains.Payouts;

/// <summary>
/// One seller's payout settings, and the reminder that pays a daily or weekly seller at <see cref="PayoutOptions.ScheduleTimeOfDay"/>.
/// A run's payouts have ids made from the seller, currency and date, so a run repeated (a crash, a second silo, an operator)
/// pays nobody twice: the payout grain answers "already exists".
/// </summary>
internal sealed partial class PayoutScheduleGrain(
    [PersistentState("payoutSchedule", GrainStorage.Name)] IPersistentState<PayoutScheduleState> schedule,
    PayoutIndex index,
    IOptions<PayoutOptions> options,
    TimeProvider time,
    ILogger<PayoutScheduleGrain> logger) : Grain, IPayoutScheduleGrain, IRemindable
{
    private const string ScheduleReminderName = "payout_schedule";

    /// <summary>
    /// The reminder ticks hourly from the first schedule time on, and each tick runs what is due and not yet run: a tick lost
    /// (a silo down at the time) or a run that failed half-way is made up within the hour, not a day (or a week) later.
    /// </summary>
    private static readonly TimeSpan TickPeriod = TimeSpan.FromHours(1);

    /// <summary>A tick that comes a little early (clocks, timers) still makes the run it was meant for.</summary>
    private static readonly TimeSpan TickTolerance = TimeSpan.FromMinutes(1);

    /// <summary>Runs a tick makes up at most, after a long outage: the first pays all that is available anyway.</summary>
    private const int CatchUpDaysMax = 7;

    private string SellerAccount => this.GetPrimaryKeyString();

    public Task<PayoutSettingsView> GetAsync() => Task.FromResult(ToView());

    public async Task<PayoutSettingsView> UpdateAsync(UpdatePayoutSettings command)
    {
        var settings = command.Settings;
        if (settings.Interval != PayoutInterval.Manual && settings.Destination is null)
        {
            throw new ArgumentException("A scheduled seller needs a destination.", nameof(command));
        }

        // Reminder and listing first: settings stored without them would never run; a reminder without settings finds
        // nothing to do, and a later update sets both again.
        if (settings.Interval == PayoutInterval.Manual)
        {
            await UnregisterScheduleReminderAsync();
        }
        else
        {
            await this.RegisterOrUpdateReminder(ScheduleReminderName, PayoutSchedule.UntilNextRun(time.GetUtcNow(), options.Value.ScheduleTimeOfDay), TickPeriod);
        }

        var now = time.GetUtcNow();
        await index.RecordScheduleAsync(SellerAccount, command.MerchantId, IntervalName(settings.Interval), settings.WeeklyAnchor?.ToString().ToLowerInvariant(), now);
        var state = schedule.State;
        var before = (state.MerchantId, state.Destination, state.Interval, state.WeeklyAnchor, state.UpdatedAt, state.LastRunDate);
        // A seller put on a schedule starts with the next schedule time, not with days it was not on it; one already on a
        // schedule keeps its place, so a run that is due (a tick lost) is still made.
        var lastRun = state.Interval == PayoutInterval.Manual || state.LastRunDate is null ? PayoutSchedule.RunDate(now, options.Value.ScheduleTimeOfDay) : state.LastRunDate;
        (state.MerchantId, state.Destination, state.Interval, state.WeeklyAnchor, state.UpdatedAt, state.LastRunDate) =
            (command.MerchantId, settings.Destination, settings.Interval, settings.WeeklyAnchor, now, lastRun);
        await schedule.WriteOrUndoAsync(this, () =>
            (state.MerchantId, state.Destination, state.Interval, state.WeeklyAnchor, state.UpdatedAt, state.LastRunDate) = before);
        return ToView();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (schedule.State.Interval == PayoutInterval.Manual || schedule.State.LastRunDate is not { } lastRun)
        {
            await UnregisterScheduleReminderAsync();
            return;
        }

        var timeOfDay = options.Value.ScheduleTimeOfDay;
        var due = PayoutSchedule.RunDate(time.GetUtcNow() + TickTolerance, timeOfDay);
        var next = lastRun.AddDays(1);
        if (next < due.AddDays(-CatchUpDaysMax))
        {
            next = due.AddDays(-CatchUpDaysMax);
        }

        for (var date = next; date <= due; date = date.AddDays(1))
        {
            var run = await RunAsync(date);
            if (run.PayoutIds.Count > 0)
            {
                LogRun(logger, SellerAccount, date, run.PayoutIds.Count);
            }
        }

        if (next <= due)
        {
            var before = schedule.State.LastRunDate;
            schedule.State.LastRunDate = due;
            await schedule.WriteOrUndoAsync(this, () => schedule.State.LastRunDate = before);
        }
    }

    public async Task<PayoutRunResult> RunAsync(DateOnly date)
    {
        var settings = schedule.State.Settings;
        if (!PayoutSchedule.IsPayDay(settings, date) || schedule.State.MerchantId is not { } merchantId || settings.Destination is not { } destination)
        {
            return new PayoutRunResult([]);
        }

        var wallet = await GrainFactory.GetGrain<ISellerWalletGrain>(SellerAccount).GetAsync();
        var payoutIds = new List<string>();
        foreach (var balance in wallet.Balances)
        {
            var payoutId = PayoutIds.Scheduled(SellerAccount, balance.Currency.Code, date);
            var payoutGrain = GrainFactory.GetGrain<IPayoutGrain>(payoutId);
            if (await payoutGrain.GetAsync() is null && balance.AvailableMinor <= 0)
            {
                continue;
            }

            // All that is available now; a payout of this run made before (and what it paid) stands as it is.
            var result = await payoutGrain.CreateAsync(new CreatePayout(merchantId, SellerAccount, balance.Currency.Code, AmountMinor: null, destination));
            if (result.Outcome is CreatePayoutOutcome.Created or CreatePayoutOutcome.AlreadyExists)
            {
                payoutIds.Add(payoutId);
            }
        }

        return new PayoutRunResult(payoutIds);
    }

    private async Task UnregisterScheduleReminderAsync()
    {
        var reminder = await this.GetReminder(ScheduleReminderName);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private static string? IntervalName(PayoutInterval interval) => interval switch
    {
        PayoutInterval.Daily => "daily",
        PayoutInterval.Weekly => "weekly",
        _ => null,
    };

    private PayoutSettingsView ToView() => new(SellerAccount, schedule.State.Settings, schedule.State.UpdatedAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled payout run of {SellerAccount} for {Date}: {Count} payouts")]
    private static partial void LogRun(ILogger logger, string sellerAccount, DateOnly date, int count);
}
