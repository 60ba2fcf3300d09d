using System.Globalization;
using Payments.Core.Ids;

namespace Payments.Core.Payouts;

[GenerateSerializer, Alias("Payments.PayoutInterval")]
public enum PayoutInterval
{
    Manual = 0,
    Daily = 1,
    Weekly = 2,
}

/// <param name="Destination">The seller's bank account as a PSP token (<c>ba_...</c>); null when none is set.</param>
/// <param name="WeeklyAnchor">The day a weekly seller is paid; null unless <see cref="PayoutInterval.Weekly"/>.</param>
[GenerateSerializer, Immutable, Alias("Payments.PayoutSettings")]
public sealed record PayoutSettings(
    [property: Id(0)] string? Destination,
    [property: Id(1)] PayoutInterval Interval,
    [property: Id(2)] DayOfWeek? WeeklyAnchor)
{
    public static readonly PayoutSettings Default = new(null, PayoutInterval.Manual, null);
}

[GenerateSerializer, Immutable, Alias("Payments.PayoutSettingsView")]
public sealed record PayoutSettingsView(
    [property: Id(0)] string SellerAccount,
    [property: Id(1)] PayoutSettings Settings,
    [property: Id(2)] DateTimeOffset? UpdatedAt);

[GenerateSerializer, Immutable, Alias("Payments.UpdatePayoutSettings")]
public sealed record UpdatePayoutSettings([property: Id(0)] string MerchantId, [property: Id(1)] PayoutSettings Settings);

/// <summary>The payouts of one date's scheduled run of one seller, made now or before (none on a day the seller is not paid).</summary>
[GenerateSerializer, Immutable, Alias("Payments.PayoutRunResult")]
public sealed record PayoutRunResult([property: Id(0)] IReadOnlyList<string> PayoutIds);

[Alias("Payments.IPayoutScheduleGrain")]
public interface IPayoutScheduleGrain : IGrainWithStringKey
{
    [Alias("GetAsync"), AlwaysInterleave]
    Task<PayoutSettingsView> GetAsync();

    /// <summary>Replaces the seller's payout settings and (re)arms or drops its schedule's reminder.</summary>
    [Alias("UpdateAsync")]
    Task<PayoutSettingsView> UpdateAsync(UpdatePayoutSettings command);

    /// <summary>Pays the seller all its positive available balance, per currency, as the run of <paramref name="date"/>: once, however often it runs.</summary>
    [Alias("RunAsync")]
    Task<PayoutRunResult> RunAsync(DateOnly date);
}

/// <summary>Payout ids: a client's, or the server's own for a scheduled run.</summary>
public static class PayoutIds
{
    public const string ScheduledPrefix = "sched_";

    /// <summary>A seller id is at most 64 characters: prefix, seller, currency and date fit in this.</summary>
    public const int LengthMax = 100;

    /// <summary>The payout of a seller's scheduled run of one date in one currency: the same id however often the run is repeated.</summary>
    public static string Scheduled(string sellerAccount, string currency, DateOnly date) =>
        $"{ScheduledPrefix}{sellerAccount}_{currency}_{date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";

    /// <summary>
    /// An id a client may give a payout: a <see cref="ClientId"/> that is not of the schedule's form, so that no request can
    /// take the id a seller's scheduled run will need (and leave the seller unpaid that day).
    /// </summary>
    public static bool IsClientGiven(string? id) => ClientId.IsValid(id) && !id!.StartsWith(ScheduledPrefix, StringComparison.Ordinal);

    /// <summary>A client's id (<see cref="ClientId"/>), or one the schedule made (longer, same characters).</summary>
    public static bool IsValid(string? id) =>
        ClientId.IsValid(id)
        || (id is { Length: <= LengthMax } && id.StartsWith(ScheduledPrefix, StringComparison.Ordinal)
            && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'));
}

/// <summary>When a scheduled seller is paid: the decisions of the payout schedule, as plain functions of the time.</summary>
public static class PayoutSchedule
{
    /// <summary>True when the settings pay the seller on <paramref name="date"/>.</summary>
    public static bool IsPayDay(PayoutSettings settings, DateOnly date) => settings.Interval switch
    {
        PayoutInterval.Daily => true,
        PayoutInterval.Weekly => date.DayOfWeek == settings.WeeklyAnchor,
        _ => false,
    };

    /// <summary>The run that a tick at <paramref name="now"/> makes: the date whose schedule time passed most recently.</summary>
    public static DateOnly RunDate(DateTimeOffset now, TimeSpan timeOfDay) => DateOnly.FromDateTime((now.UtcDateTime - timeOfDay).Date);

    /// <summary>How long from <paramref name="now"/> until the schedule time of day next comes (never zero: a run just made is not made again).</summary>
    public static TimeSpan UntilNextRun(DateTimeOffset now, TimeSpan timeOfDay)
    {
        var utc = now.UtcDateTime;
        var next = utc.Date + timeOfDay;
        if (next <= utc)
        {
            next = next.AddDays(1);
        }

        return next - utc;
    }
}
