using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Payments.Api.Authentication;
using Payments.Api.Problems;
using Payments.Core.Ids;
using Payments.Core.Money;
using Payments.Core.Payouts;

namespace Payments.Api.Ledger;

public sealed record LedgerBalanceResponse(string Currency, string Debits, string Credits, string Net);

public sealed record AccountBalanceResponse(string Account, IReadOnlyList<LedgerBalanceResponse> Balances);

public sealed record LedgerEntryResponse(string Account, string Direction, string Amount, string Currency);

public sealed record LedgerTransactionResponse(string TransactionId, string ExternalId, string Kind, DateTime CreatedAt, IReadOnlyList<LedgerEntryResponse> Entries);

public sealed record LedgerTransactionsResponse(IReadOnlyList<LedgerTransactionResponse> Transactions);

public static class LedgerApi
{
    private const int AccountLengthMax = 200;

    public static IEndpointRouteBuilder MapLedgerApi(this IEndpointRouteBuilder app)
    {
        var ledger = app.MapGroup("/v1/ledger").WithTags("Ledger").RequireApiKey(operatorOnly: true);
        ledger.MapGet("/accounts/{account}/balance", GetBalanceAsync)
            .WithName("GetLedgerAccountBalance")
            .WithSummary("Debits, credits and net (debits - credits) of one ledger account per currency.");
        ledger.MapGet("/transactions", GetTransactionsAsync)
            .WithName("GetLedgerTransactions")
            .WithSummary("The double-entry transactions that carry a payment order's (payment_order_id), a payout's (payout_id) or the PSP's payout to our bank (automatic_payout_id: its settlement) reference.");
        return app;
    }

    internal static async Task<Results<Ok<AccountBalanceResponse>, ProblemHttpResult>> GetBalanceAsync(string account, LedgerQueries ledger, CancellationToken cancellationToken)
    {
        if (account.Length is 0 or > AccountLengthMax)
        {
            return ApiProblem.Validation(new Dictionary<string, string[]> { ["account"] = [$"must be 1-{AccountLengthMax} characters"] });
        }

        var rows = await ledger.AccountBalancesAsync(account, cancellationToken);
        return TypedResults.Ok(new AccountBalanceResponse(account, rows.Select(row =>
        {
            var digits = Currency.Get(row.Currency).MinorDigits;
            // Sums, not amounts: they may pass 64 bits, so they are computed and formatted as big integers.
            return new LedgerBalanceResponse(row.Currency, MinorUnitSums.Format(row.DebitsMinor, digits), MinorUnitSums.Format(row.CreditsMinor, digits),
                MinorUnitSums.Format(row.DebitsMinor - row.CreditsMinor, digits));
        }).ToArray()));
    }

    internal static async Task<Results<Ok<LedgerTransactionsResponse>, ProblemHttpResult>> GetTransactionsAsync(HttpContext context, LedgerQueries ledger, CancellationToken cancellationToken)
    {
        var paymentOrderId = context.Request.Query["payment_order_id"].ToString();
        var payoutId = context.Request.Query["payout_id"].ToString();
        var automaticPayoutId = context.Request.Query["automatic_payout_id"].ToString();
        // Exactly one reference, and a well-formed one.
        var given = new[] { paymentOrderId, payoutId, automaticPayoutId }.Count(text => text.Length > 0);
        var valid = new[] { ClientId.IsValid(paymentOrderId), PayoutIds.IsValid(payoutId), ClientId.IsValid(automaticPayoutId) }.Count(ok => ok);
        if (given != 1 || valid != 1)
        {
            return ApiProblem.Validation(new Dictionary<string, string[]>
            {
                ["payment_order_id"] = ["one of payment_order_id, payout_id and automatic_payout_id is required: 1-64 characters of A-Z, a-z, 0-9, '_' and '-'"],
            });
        }

        var rows = paymentOrderId.Length > 0 ? await ledger.TransactionsForPaymentOrderAsync(paymentOrderId, cancellationToken)
            : payoutId.Length > 0 ? await ledger.TransactionsForPayoutAsync(payoutId, cancellationToken)
            : await ledger.TransactionsForSettlementAsync(automaticPayoutId, cancellationToken);
        return TypedResults.Ok(new LedgerTransactionsResponse(rows.Select(row => new LedgerTransactionResponse(
            row.TransactionId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            row.ExternalId,
            row.Kind,
            DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc),
            row.Entries.Select(entry => new LedgerEntryResponse(entry.Account, entry.Direction,
                Money.FormatMinor(entry.AmountMinor, Currency.Get(entry.Currency).MinorDigits), entry.Currency)).ToArray())).ToArray()));
    }
}
