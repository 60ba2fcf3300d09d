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
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

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
            await this.RegisterOrUpdateReminder(ScheduleReminderName, PayoutSchedule.UntilNextRun(time.GetUtcNow(), options.Value.ScheduleTimeOfDay), Day);
        }

        var now = time.GetUtcNow();
        await index.RecordScheduleAsync(SellerAccount, command.MerchantId, IntervalName(settings.Interval), settings.WeeklyAnchor?.ToString().ToLowerInvariant(), now);
        var before = (schedule.State.MerchantId, schedule.State.Destination, schedule.State.Interval, schedule.State.WeeklyAnchor, schedule.State.UpdatedAt);
        (schedule.State.MerchantId, schedule.State.Destination, schedule.State.Interval, schedule.State.WeeklyAnchor, schedule.State.UpdatedAt) =
            (command.MerchantId, settings.Destination, settings.Interval, settings.WeeklyAnchor, now);
        await schedule.WriteOrUndoAsync(this, () =>
            (schedule.State.MerchantId, schedule.State.Destination, schedule.State.Interval, schedule.State.WeeklyAnchor, schedule.State.UpdatedAt) = before);
        return ToView();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (schedule.State.Interval == PayoutInterval.Manual)
        {
            await UnregisterScheduleReminderAsync();
            return;
        }

        var date = PayoutSchedule.RunDate(time.GetUtcNow(), options.Value.ScheduleTimeOfDay);
        var run = await RunAsync(date);
        LogRun(logger, SellerAccount, date, run.PayoutIds.Count);
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
