using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Payments.Api.Ledger;
using Payments.Api.Payouts;
using Payments.Core.PaymentOrders;
using Payments.Core.Wallets;

namespace Payments.Api.Operations;

public sealed record InvariantCheck(string Name, bool Ok, string Detail);

public sealed record InvariantsResponse(bool Ok, IReadOnlyList<InvariantCheck> Checks);

public static class InvariantsApi
{
    /// <summary>How long a successful order may take to apply its wallet and ledger effects before it breaks an invariant.</summary>
    private static readonly TimeSpan EffectsGracePeriod = TimeSpan.FromMinutes(1);

    internal static async Task<Ok<InvariantsResponse>> CheckAsync(
        LedgerQueries ledger, IGrainFactory grains, UnfinishedPaymentOrders unfinished, UnfinishedPayouts unfinishedPayouts, TimeProvider time, CancellationToken cancellationToken)
    {
        var unfinishedBefore = await unfinished.ListAsync(cancellationToken);
        var inFlightBefore = await SellersInFlightAsync(unfinishedBefore, unfinishedPayouts, cancellationToken);
        var checks = new List<InvariantCheck>
        {
            FromRows("ledger_transactions_balance", await ledger.UnbalancedTransactionsAsync(cancellationToken), "every transaction balances per currency", "unbalanced"),
            FromRows("ledger_sums_to_zero", await ledger.NonZeroCurrencyTotalsAsync(cancellationToken), "debits equal credits in every currency", "non-zero totals"),
            await WalletsMatchLedgerAsync(ledger, grains, inFlightBefore, async () => await SellersInFlightAsync(await unfinished.ListAsync(cancellationToken), unfinishedPayouts, cancellationToken), cancellationToken),
            FromRows("no_double_charge", await ledger.DoubleChargesAsync(cancellationToken), "every payment order paid in at most once, each PSP reference for one order", "double charges"),
            SuccessfulOrdersSettled(unfinishedBefore, time.GetUtcNow()),
        };
        return TypedResults.Ok(new InvariantsResponse(checks.All(check => check.Ok), checks));
    }

    /// <summary>
    /// Each wallet equals its ledger accounts: pending, available, reserved and paid out. Sellers with a payment order or
    /// payout whose moves are in flight while we read (before or after the reads) are left out: wallet and ledger are
    /// applied side by side, so for a moment one is ahead. One that stays unsettled is caught by success_orders_settled
    /// (or the stuck payouts) instead.
    /// </summary>
    private static async Task<InvariantCheck> WalletsMatchLedgerAsync(
        LedgerQueries ledger, IGrainFactory grains, IReadOnlySet<string> inFlightBefore, Func<Task<IReadOnlySet<string>>> inFlightAfter, CancellationToken cancellationToken)
    {
        var rows = await ledger.SellerBalancesAsync(cancellationToken);
        var mismatches = new List<(string Seller, string Detail)>();
        foreach (var seller in rows.GroupBy(row => row.Seller))
        {
            var wallet = await grains.GetGrain<ISellerWalletGrain>(seller.Key).GetAsync();
            foreach (var row in seller)
            {
                var balance = wallet.Balances.FirstOrDefault(b => b.Currency.Code == row.Currency);
                var walletSays = (balance?.PendingMinor ?? 0, balance?.AvailableMinor ?? 0, balance?.ReservedMinor ?? 0, balance?.PaidOutMinor ?? 0);
                var ledgerSays = (row.PendingMinor, row.AvailableMinor, row.ReservedMinor, row.PaidOutMinor);
                if (walletSays != ledgerSays)
                {
                    mismatches.Add((seller.Key, $"{seller.Key} {row.Currency}: wallet (pending, available, reserved, paid_out) {walletSays}, ledger {ledgerSays}"));
                }
            }
        }

        var inFlight = mismatches.Count == 0 ? inFlightBefore : inFlightBefore.Union(await inFlightAfter()).ToHashSet(StringComparer.Ordinal);
        var real = mismatches.Where(mismatch => !inFlight.Contains(mismatch.Seller)).Select(mismatch => mismatch.Detail).ToArray();
        var sellers = rows.Select(row => row.Seller).Distinct().Count();
        var skipped = mismatches.Select(mismatch => mismatch.Seller).Where(inFlight.Contains).Distinct().Count();
        return real.Length == 0
            ? new InvariantCheck("wallets_match_ledger", true, $"{sellers - skipped} seller wallets equal their ledger accounts"
                + (skipped > 0 ? $"; {skipped} with moves in flight left out" : string.Empty))
            : new InvariantCheck("wallets_match_ledger", false, string.Join("; ", real.Take(20)));
    }

    /// <summary>Sellers with money moving right now: an order that owes wallet or ledger moves, or a payout that owes work.</summary>
    private static async Task<IReadOnlySet<string>> SellersInFlightAsync(IReadOnlyList<PaymentOrderView> unfinishedOrders, UnfinishedPayouts unfinishedPayouts, CancellationToken cancellationToken)
    {
        var payouts = await unfinishedPayouts.ListAsync(cancellationToken);
        return unfinishedOrders.Select(order => order.SellerAccount).Concat(payouts.Select(payout => payout.SellerAccount)).ToHashSet(StringComparer.Ordinal);
    }

    private static InvariantCheck SuccessfulOrdersSettled(IReadOnlyList<PaymentOrderView> unfinished, DateTimeOffset now)
    {
        var unsettled = unfinished
            .Where(order => order.OwesEffects && order.UpdatedAt <= now - EffectsGracePeriod)
            .Select(order => $"{order.PaymentOrderId} (wallet {order.WalletUpdated}, ledger {order.LedgerUpdated}, refunds owing {order.Refunds.Count(refund => refund.EffectsOwed)})")
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
