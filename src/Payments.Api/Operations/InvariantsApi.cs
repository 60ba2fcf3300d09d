using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Payments.Api.Ledger;
using Payments.Api.Payouts;
using Payments.Api.Problems;
using Payments.Core.PaymentOrders;
using Payments.Core.Payouts;
using Payments.Core.Wallets;
using Payments.Psp;

namespace Payments.Api.Operations;

public sealed record InvariantCheck(string Name, bool Ok, string Detail);

public sealed record InvariantsResponse(bool Ok, IReadOnlyList<InvariantCheck> Checks);

public static class InvariantsApi
{
    /// <summary>How long a successful order or a payout may take to apply its wallet and ledger moves before it breaks an invariant.</summary>
    private static readonly TimeSpan EffectsGracePeriod = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A wallet and its ledger accounts are moved side by side, so for a moment one is ahead: a seller that differs is read
    /// again this many times, this far apart, before it counts.
    /// </summary>
    private const int RereadsMax = 5;

    private static readonly TimeSpan RereadDelay = TimeSpan.FromMilliseconds(200);

    internal static async Task<Results<Ok<InvariantsResponse>, ProblemHttpResult>> CheckAsync(
        HttpContext context, LedgerQueries ledger, OperationsQueries queries, IPspPaymentIntents psp, IOptions<OperationsOptions> options,
        IGrainFactory grains, UnfinishedPaymentOrders unfinished, UnfinishedPayouts unfinishedPayouts, TimeProvider time, CancellationToken cancellationToken)
    {
        // psp=sample (the default) checks a random sample of orders against the PSP on every call; psp=full checks them all.
        var mode = context.Request.Query["psp"].ToString();
        if (mode is not ("" or PspSample or PspFull))
        {
            return ApiProblem.Validation(new Dictionary<string, string[]> { ["psp"] = [$"must be {PspSample} (the default) or {PspFull}"] });
        }

        var wallets = await WalletsMatchLedgerAsync(ledger, grains, unfinished, unfinishedPayouts, cancellationToken);
        var orders = await unfinished.ListAsync(cancellationToken);
        var payouts = await unfinishedPayouts.ListAsync(cancellationToken);
        var now = time.GetUtcNow();
        var pspCheck = new PspChargeInvariants(queries, grains, psp, Math.Clamp(options.Value.ListPageSize, 1, 100_000));
        var full = mode == PspFull;
        var atPsp = full ? await pspCheck.FullAsync(cancellationToken) : await pspCheck.SampleAsync(Math.Max(0, options.Value.InvariantsPspSample), cancellationToken);
        var checks = new List<InvariantCheck>
        {
            FromRows("ledger_transactions_balance", await ledger.UnbalancedTransactionsAsync(cancellationToken), "every transaction balances per currency", "unbalanced"),
            FromRows("ledger_sums_to_zero", await ledger.NonZeroCurrencyTotalsAsync(cancellationToken), "debits equal credits in every currency", "non-zero totals"),
            wallets,
            NoDoubleCharge(await ledger.DoubleChargesAsync(cancellationToken), atPsp, full),
            SuccessfulOrdersSettled(orders, now),
            PayoutsSettled(payouts, now),
            PspChargesMatchOrders(atPsp, full),
        };
        return TypedResults.Ok(new InvariantsResponse(checks.All(check => check.Ok), checks));
    }

    /// <summary>The ledger's pay-ins (at most one per order, each PSP reference for one order), and the PSP's succeeded intents per order.</summary>
    private static InvariantCheck NoDoubleCharge(IReadOnlyList<string> booked, PspChargeFindings atPsp, bool full)
    {
        var violations = booked.Concat(atPsp.DoubleCharges.Take(20)).ToArray();
        return violations.Length == 0
            ? new InvariantCheck("no_double_charge", true, "every payment order paid in at most once, each PSP reference for one order"
                + $"; {atPsp.OrdersChecked} orders charged at most once at the PSP ({(full ? "all" : "sample")})")
            : new InvariantCheck("no_double_charge", false, $"double charges: {string.Join("; ", violations)}");
    }

    /// <summary>Every succeeded PSP charge belongs to a SUCCESS, booked order, and every SUCCESS order has one.</summary>
    private static InvariantCheck PspChargesMatchOrders(PspChargeFindings atPsp, bool full)
    {
        var scope = full ? "all orders" : "a sample of orders";
        if (atPsp.Error is not null)
        {
            return new InvariantCheck("psp_charges_match_orders", false, $"could not read the PSP ({scope}): {atPsp.Error}");
        }

        return atPsp.Mismatches.Count == 0
            ? new InvariantCheck("psp_charges_match_orders", true, $"{atPsp.OrdersChecked} orders checked at the PSP ({scope}): each succeeded charge is a SUCCESS, booked order and each SUCCESS order was charged"
                + (atPsp.InFlight > 0 ? $"; {atPsp.InFlight} still finishing left out" : string.Empty))
            : new InvariantCheck("psp_charges_match_orders", false, $"{atPsp.Mismatches.Count} mismatches: {string.Join("; ", atPsp.Mismatches.Take(20))}");
    }

    private const string PspSample = "sample";

    private const string PspFull = "full";

    /// <summary>
    /// Each wallet equals its ledger accounts: pending, available, reserved and paid out. A seller that differs is read again
    /// a few times (its moves may be landing), and left out only while one of its payment orders or payouts owes moves right
    /// now; one that keeps owing them is caught by success_orders_settled or payouts_settled instead.
    /// </summary>
    private static async Task<InvariantCheck> WalletsMatchLedgerAsync(
        LedgerQueries ledger, IGrainFactory grains, UnfinishedPaymentOrders unfinished, UnfinishedPayouts unfinishedPayouts, CancellationToken cancellationToken)
    {
        var owingBefore = await SellersOwingMovesAsync(unfinished, unfinishedPayouts, cancellationToken);
        var rows = await ledger.SellerBalancesAsync(cancellationToken);
        var sellers = rows.Select(row => row.Seller).Distinct(StringComparer.Ordinal).Count();
        var mismatches = await MismatchesAsync(rows, grains);
        for (var reread = 0; reread < RereadsMax && mismatches.Count > 0; reread++)
        {
            await Task.Delay(RereadDelay, cancellationToken);
            var differing = mismatches.Keys.ToHashSet(StringComparer.Ordinal);
            mismatches = await MismatchesAsync((await ledger.SellerBalancesAsync(cancellationToken)).Where(row => differing.Contains(row.Seller)).ToArray(), grains);
        }

        // Owing before the reads or after them: a move that landed (or began) while we read is in one of the two.
        var owing = mismatches.Count == 0 ? owingBefore : owingBefore.Union(await SellersOwingMovesAsync(unfinished, unfinishedPayouts, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var real = mismatches.Where(mismatch => !owing.Contains(mismatch.Key)).Select(mismatch => mismatch.Value).ToArray();
        var skipped = mismatches.Count - real.Length;
        return real.Length == 0
            ? new InvariantCheck("wallets_match_ledger", true, $"{sellers - skipped} seller wallets equal their ledger accounts"
                + (skipped > 0 ? $"; {skipped} with moves in flight left out" : string.Empty))
            : new InvariantCheck("wallets_match_ledger", false, string.Join("; ", real.Take(20)));
    }

    /// <summary>The sellers whose wallet differs from the ledger's rows, with what each side says.</summary>
    private static async Task<Dictionary<string, string>> MismatchesAsync(IReadOnlyList<SellerLedgerBalances> rows, IGrainFactory grains)
    {
        var mismatches = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var seller in rows.GroupBy(row => row.Seller))
        {
            var wallet = await grains.GetGrain<ISellerWalletGrain>(seller.Key).GetAsync();
            foreach (var row in seller)
            {
                var balance = wallet.Balances.FirstOrDefault(b => b.Currency.Code == row.Currency);
                var walletSays = (balance?.PendingMinor ?? 0, balance?.AvailableMinor ?? 0, balance?.ReservedMinor ?? 0, balance?.PaidOutMinor ?? 0);
                var ledgerSays = (row.PendingMinor, row.AvailableMinor, row.ReservedMinor, row.PaidOutMinor);
                // The ledger's sums are big integers: one past 64 bits can never equal a wallet, and shows as a mismatch, not a 500.
                if (walletSays.Item1 != ledgerSays.PendingMinor || walletSays.Item2 != ledgerSays.AvailableMinor
                    || walletSays.Item3 != ledgerSays.ReservedMinor || walletSays.Item4 != ledgerSays.PaidOutMinor)
                {
                    mismatches[seller.Key] = $"{seller.Key} {row.Currency}: wallet (pending, available, reserved, paid_out) {walletSays}, ledger {ledgerSays}";
                }
            }
        }

        return mismatches;
    }

    /// <summary>Sellers with money moving right now: a payment order or payout that owes wallet or ledger moves.</summary>
    private static async Task<HashSet<string>> SellersOwingMovesAsync(UnfinishedPaymentOrders unfinished, UnfinishedPayouts unfinishedPayouts, CancellationToken cancellationToken)
    {
        var orders = await unfinished.ListAsync(cancellationToken);
        var payouts = await unfinishedPayouts.ListAsync(cancellationToken);
        return orders.Where(order => order.OwesEffects).Select(order => order.SellerAccount)
            .Concat(payouts.Where(payout => payout.OwesEffects).Select(payout => payout.SellerAccount))
            .ToHashSet(StringComparer.Ordinal);
    }

    private static InvariantCheck SuccessfulOrdersSettled(IReadOnlyList<PaymentOrderView> unfinished, DateTimeOffset now)
    {
        var unsettled = unfinished
            .Where(order => order.OwesEffects && order.UpdatedAt <= now - EffectsGracePeriod)
            .Select(order => $"{order.PaymentOrderId} (wallet {order.WalletUpdated}, ledger {order.LedgerUpdated}, refunds owing {order.Refunds.Count(refund => refund.EffectsOwed)}, fulfillment owing {order.FulfillmentEffectsOwed})")
            .ToArray();
        return unsettled.Length == 0
            ? new InvariantCheck("success_orders_settled", true, "every SUCCESS order older than a minute has updated wallet and ledger")
            : new InvariantCheck("success_orders_settled", false, $"effects owed: {string.Join("; ", unsettled.Take(20))}");
    }

    private static InvariantCheck PayoutsSettled(IReadOnlyList<PayoutView> unfinished, DateTimeOffset now)
    {
        var unsettled = unfinished
            .Where(payout => payout.OwesEffects && payout.UpdatedAt <= now - EffectsGracePeriod)
            .Select(payout => $"{payout.PayoutId} ({payout.Status.ToWireName()}{(payout.DeadLettered ? ", parked" : string.Empty)})")
            .ToArray();
        return unsettled.Length == 0
            ? new InvariantCheck("payouts_settled", true, "every payout older than a minute has its wallet and ledger moves applied")
            : new InvariantCheck("payouts_settled", false, $"moves owed: {string.Join("; ", unsettled.Take(20))}");
    }

    private static InvariantCheck FromRows(string name, IReadOnlyList<string> violations, string okDetail, string label) =>
        violations.Count == 0
            ? new InvariantCheck(name, true, okDetail)
            : new InvariantCheck(name, false, $"{label}: {string.Join("; ", violations)}");
}
