using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Payments.Api.Ledger;
using Payments.Core.PaymentOrders;
using Payments.Core.Wallets;

namespace Payments.Api.Operations;

public sealed record InvariantCheck(string Name, bool Ok, string Detail);

public sealed record InvariantsResponse(bool Ok, IReadOnlyList<InvariantCheck> Checks);

public static class InvariantsApi
{
    /// <summary>How long a successful order may take to apply its wallet and ledger effects before it breaks an invariant.</summary>
    private static readonly TimeSpan EffectsGracePeriod = TimeSpan.FromMinutes(1);

    internal static async Task<Ok<InvariantsResponse>> CheckAsync(LedgerQueries ledger, IGrainFactory grains, UnfinishedPaymentOrders unfinished, TimeProvider time, CancellationToken cancellationToken)
    {
        var checks = new List<InvariantCheck>
        {
            FromRows("ledger_transactions_balance", await ledger.UnbalancedTransactionsAsync(cancellationToken), "every transaction balances per currency", "unbalanced"),
            FromRows("ledger_sums_to_zero", await ledger.NonZeroCurrencyTotalsAsync(cancellationToken), "debits equal credits in every currency", "non-zero totals"),
            await WalletsMatchLedgerAsync(ledger, grains, cancellationToken),
            FromRows("no_double_charge", await ledger.DoubleChargesAsync(cancellationToken), "every payment order paid in at most once, each PSP reference for one order", "double charges"),
            await SuccessfulOrdersSettledAsync(unfinished, time.GetUtcNow(), cancellationToken),
        };
        return TypedResults.Ok(new InvariantsResponse(checks.All(check => check.Ok), checks));
    }

    private static async Task<InvariantCheck> WalletsMatchLedgerAsync(LedgerQueries ledger, IGrainFactory grains, CancellationToken cancellationToken)
    {
        var rows = await ledger.SellerBalancesAsync(cancellationToken);
        var mismatches = new List<string>();
        foreach (var seller in rows.GroupBy(row => row.Seller))
        {
            var wallet = await grains.GetGrain<ISellerWalletGrain>(seller.Key).GetAsync();
            foreach (var row in seller)
            {
                var balance = wallet.Balances.FirstOrDefault(b => b.Currency.Code == row.Currency);
                var pending = balance?.PendingMinor ?? 0;
                var available = balance?.AvailableMinor ?? 0;
                if (pending != row.PendingMinor || available != row.AvailableMinor)
                {
                    mismatches.Add($"{seller.Key} {row.Currency}: wallet pending {pending} available {available}, ledger pending {row.PendingMinor} available {row.AvailableMinor}");
                }
            }
        }

        return mismatches.Count == 0
            ? new InvariantCheck("wallets_match_ledger", true, $"{rows.Select(row => row.Seller).Distinct().Count()} seller wallets equal their ledger accounts")
            : new InvariantCheck("wallets_match_ledger", false, string.Join("; ", mismatches.Take(20)));
    }

    private static async Task<InvariantCheck> SuccessfulOrdersSettledAsync(UnfinishedPaymentOrders unfinished, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var unsettled = (await unfinished.ListAsync(cancellationToken))
            .Where(order => order.Status == PaymentOrderStatus.Success && !(order.WalletUpdated && order.LedgerUpdated) && order.UpdatedAt <= now - EffectsGracePeriod)
            .Select(order => $"{order.PaymentOrderId} (wallet {order.WalletUpdated}, ledger {order.LedgerUpdated})")
            .ToArray();
        return unsettled.Length == 0
            ? new InvariantCheck("success_orders_settled", true, "every SUCCESS order older than a minute has updated wallet and ledger")
            : new InvariantCheck("success_orders_settled", false, $"effects owed: {string.Join("; ", unsettled.Take(20))}");
    }

    private static InvariantCheck FromRows(string name, IReadOnlyList<string> violations, string okDetail, string label) =>
        violations.Count == 0
            ? new InvariantCheck(name, true, okDetail)
            : new InvariantCheck(name, false, $"{label}: {string.Join("; ", violations)}");
}
