using Payments.Core.Payouts;

namespace Payments.Tests.Unit.Payouts;

public sealed class PayoutScheduleTests
{
    private static readonly PayoutSettings Daily = new("ba_sim_ok", PayoutInterval.Daily, null);
    private static readonly PayoutSettings WeeklyOnMonday = new("ba_sim_ok", PayoutInterval.Weekly, DayOfWeek.Monday);

    [Theory]
    [InlineData("2026-11-23", true)] // a Monday
    [InlineData("2026-11-24", false)]
    [InlineData("2026-11-29", false)]
    public void A_weekly_seller_is_paid_on_its_anchor_day_only(string date, bool payDay)
    {
        Assert.Equal(payDay, PayoutSchedule.IsPayDay(WeeklyOnMonday, DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(PayoutSchedule.IsPayDay(Daily, DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.False(PayoutSchedule.IsPayDay(PayoutSettings.Default, DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("2026-11-20T00:00:00Z", "00:00:00", "2026-11-20")]
    [InlineData("2026-11-20T00:00:05Z", "00:00:00", "2026-11-20")]
    [InlineData("2026-11-20T23:59:59Z", "00:00:00", "2026-11-20")]
    [InlineData("2026-11-20T06:00:01Z", "06:00:00", "2026-11-20")]
    // A tick late by a few hours still makes the run of the day it was due, not the next one.
    [InlineData("2026-11-21T05:59:59Z", "06:00:00", "2026-11-20")]
    public void A_tick_makes_the_run_of_the_date_whose_schedule_time_passed_last(string now, string timeOfDay, string runDate)
    {
        var date = PayoutSchedule.RunDate(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Parse(timeOfDay, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DateOnly.Parse(runDate, System.Globalization.CultureInfo.InvariantCulture), date);
    }

    [Theory]
    [InlineData("2026-11-20T05:00:00Z", "06:00:00", 3600)]
    [InlineData("2026-11-20T06:00:00Z", "06:00:00", 86400)]
    [InlineData("2026-11-20T23:59:30Z", "00:00:00", 30)]
    public void The_next_run_is_the_next_time_the_schedule_time_comes_never_now(string now, string timeOfDay, int seconds)
    {
        var wait = PayoutSchedule.UntilNextRun(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Parse(timeOfDay, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.FromSeconds(seconds), wait);
    }

    [Fact]
    public void A_scheduled_payout_id_is_the_same_for_the_same_seller_currency_and_date_and_valid_though_longer_than_a_client_id()
    {
        var seller = new string('s', 64);
        var id = PayoutIds.Scheduled(seller, "USD", new DateOnly(2026, 11, 20));

        Assert.Equal($"sched_{seller}_USD_2026-11-20", id);
        Assert.Equal(id, PayoutIds.Scheduled(seller, "USD", new DateOnly(2026, 11, 20)));
        Assert.True(id.Length > 64);
        Assert.True(PayoutIds.IsValid(id));
        Assert.True(PayoutIds.IsValid("pay_1"));
        Assert.False(PayoutIds.IsValid("pay/1"));
        Assert.False(PayoutIds.IsValid(new string('p', 65)));
        Assert.False(PayoutIds.IsValid("sched_" + new string('s', 95)));
    }

    [Theory]
    [InlineData(PayoutStatus.Pending, PayoutStatus.InTransit, true)]
    [InlineData(PayoutStatus.Pending, PayoutStatus.Paid, true)]
    [InlineData(PayoutStatus.Pending, PayoutStatus.Failed, true)]
    [InlineData(PayoutStatus.InTransit, PayoutStatus.Paid, true)]
    [InlineData(PayoutStatus.InTransit, PayoutStatus.Failed, true)]
    [InlineData(PayoutStatus.Paid, PayoutStatus.Failed, true)]
    [InlineData(PayoutStatus.InTransit, PayoutStatus.Pending, false)]
    [InlineData(PayoutStatus.Paid, PayoutStatus.InTransit, false)]
    [InlineData(PayoutStatus.Failed, PayoutStatus.Paid, false)]
    [InlineData(PayoutStatus.Failed, PayoutStatus.InTransit, false)]
    [InlineData(PayoutStatus.Paid, PayoutStatus.Paid, false)]
    public void A_payout_never_moves_backwards(PayoutStatus from, PayoutStatus to, bool allowed) => Assert.Equal(allowed, from.CanMoveTo(to));
}
