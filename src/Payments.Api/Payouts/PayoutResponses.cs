using Payments.Core.Payouts;

namespace Payments.Api.Payouts;

public sealed record PayoutFailureResponse(string Code, string Message);

public sealed record PayoutHistoryEntryResponse(string Status, DateTime At);

public sealed record PayoutResponse(
    string PayoutId,
    string SellerAccount,
    string Amount,
    string Currency,
    string Status,
    string Destination,
    string? PspReference,
    PayoutFailureResponse? Failure,
    DateTime CreatedAt,
    DateTime? ArrivalDate,
    IReadOnlyList<PayoutHistoryEntryResponse> History,
    int Attempts,
    DateTime? NextRetryAt,
    DateTime UpdatedAt)
{
    public static PayoutResponse From(PayoutView payout) => new(
        payout.PayoutId,
        payout.SellerAccount,
        payout.Amount.ToDecimalString(),
        payout.Amount.Currency.Code,
        payout.Status.ToWireName(),
        payout.Destination,
        payout.PspReference,
        payout.Failure is { } failure ? new PayoutFailureResponse(failure.Code, failure.Message) : null,
        payout.CreatedAt.UtcDateTime,
        payout.ArrivalDate?.UtcDateTime,
        payout.History.Select(entry => new PayoutHistoryEntryResponse(entry.Status.ToWireName(), entry.At.UtcDateTime)).ToArray(),
        payout.Attempts,
        payout.NextRetryAt?.UtcDateTime,
        payout.UpdatedAt.UtcDateTime);
}

public sealed record PayoutsPageResponse(IReadOnlyList<PayoutResponse> Payouts, bool HasMore);

public sealed record PayoutSettingsResponse(string SellerAccount, string? Destination, string Interval, string? WeeklyAnchor, DateTime? UpdatedAt)
{
    public static PayoutSettingsResponse From(PayoutSettingsView view) => new(
        view.SellerAccount,
        view.Settings.Destination,
        view.Settings.Interval switch
        {
            PayoutInterval.Daily => "daily",
            PayoutInterval.Weekly => "weekly",
            _ => "manual",
        },
        view.Settings.WeeklyAnchor?.ToString().ToLowerInvariant(),
        view.UpdatedAt?.UtcDateTime);
}

public sealed record PayoutRunResponse(string Date, IReadOnlyList<string> Payouts);

public sealed record StuckPayoutsResponse(string OlderThan, IReadOnlyList<PayoutResponse> Payouts);
