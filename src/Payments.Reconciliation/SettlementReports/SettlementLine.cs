namespace Payments.Reconciliation.SettlementReports;

/// <summary>
/// One data row of the PSP's itemized payout reconciliation report: a balance transaction, its money in minor units of
/// its currency (signed as the PSP signs them: a refund's gross is negative), and what ties it to us.
/// </summary>
/// <param name="LineNumber">The 1-based number of the data row (the header is not counted).</param>
/// <param name="Currency">ISO 4217, upper case (the report writes it lower case).</param>
/// <param name="ReportingCategory">charge, refund, refund_failure, fee, payout, other_adjustment, or whatever else the PSP writes.</param>
/// <param name="PaymentOrderId">payment_metadata[payment_order_id]: our id of the payment, if the PSP has one.</param>
public sealed record SettlementLine(
    int LineNumber,
    string BalanceTransactionId,
    DateTimeOffset CreatedUtc,
    DateTimeOffset? AvailableOnUtc,
    string Currency,
    long Gross,
    long Fee,
    long Net,
    string ReportingCategory,
    string? SourceId,
    string? PaymentIntentId,
    string? AutomaticPayoutId,
    string? PaymentOrderId);
