using Payments.Core.PaymentOrders;
using Payments.Psp;

namespace Payments.Api.Operations;

/// <summary>What the PSP's own record of charges says against our orders: double charges, and charges we lost or never made.</summary>
/// <param name="DoubleCharges">Orders the PSP charged more than once (more than one succeeded payment intent).</param>
/// <param name="Mismatches">A succeeded intent whose order is not SUCCESS and booked (lost), or a SUCCESS order with no succeeded intent.</param>
/// <param name="Error">Set when the PSP could not be read: nothing was verified.</param>
public sealed record PspChargeFindings(int OrdersChecked, int InFlight, IReadOnlyList<string> DoubleCharges, IReadOnlyList<string> Mismatches, string? Error);

/// <summary>
/// Compares the PSP's payment intents (by our <c>metadata[payment_order_id]</c>) with our orders and the ledger's pay-ins.
/// Reads our side first and the PSP after it: an order booked before the PSP was read had its intent succeed before that too,
/// so "booked, no succeeded intent" is never a race; a succeeded intent without a booking is read again from the order,
/// which may have finished meanwhile. Orders not final yet, or still holding work owed (a drive wake-up), are in flight, not broken.
/// </summary>
public sealed class PspChargeInvariants(OperationsQueries queries, IGrainFactory grains, IPspPaymentIntents psp, int pageSize)
{
    /// <summary>The PSP's list page: Stripe's largest.</summary>
    private const int PspPageSize = 100;

    private const int ReadsInFlight = 16;

    /// <summary>A sample of our orders, each looked up at the PSP by search.</summary>
    public async Task<PspChargeFindings> SampleAsync(int count, CancellationToken cancellationToken)
    {
        var ids = await queries.SamplePaymentOrderIdsAsync(count, cancellationToken);
        var booked = await queries.BookedPayinsAsync(ids, cancellationToken);
        var views = await ReadOrdersAsync(ids);
        var byOrder = new Dictionary<string, IReadOnlyList<PspPaymentIntent>>(StringComparer.Ordinal);
        try
        {
            foreach (var chunk in ids.Chunk(ReadsInFlight))
            {
                var found = await Task.WhenAll(chunk.Select(id => psp.SearchByPaymentOrderAsync(id, cancellationToken)));
                for (var index = 0; index < chunk.Length; index++)
                {
                    byOrder[chunk[index]] = found[index];
                }
            }
        }
        catch (PspReadException exception)
        {
            return new PspChargeFindings(0, 0, [], [], exception.Message);
        }

        // SUCCESS as read before the PSP: such an order's intent had succeeded by then.
        var success = ids.Where(id => booked.Contains(id) || views.GetValueOrDefault(id)?.Status == PaymentOrderStatus.Success).ToHashSet(StringComparer.Ordinal);
        return await CompareAsync(ids, success, byOrder, cancellationToken);
    }

    /// <summary>Every order: all the ledger's pay-ins, and every payment intent the PSP holds, page by page.</summary>
    public async Task<PspChargeFindings> FullAsync(CancellationToken cancellationToken)
    {
        var booked = new HashSet<string>(StringComparer.Ordinal);
        for (string? after = null; ;)
        {
            var page = await queries.BookedPayinsPageAsync(after, pageSize, cancellationToken);
            booked.UnionWith(page);
            if (page.Count < pageSize)
            {
                break;
            }

            after = page[^1];
        }

        var byOrder = new Dictionary<string, List<PspPaymentIntent>>(StringComparer.Ordinal);
        try
        {
            for (string? startingAfter = null; ;)
            {
                var page = await psp.ListAsync(startingAfter, PspPageSize, cancellationToken);
                foreach (var intent in page.Intents.Where(intent => intent.PaymentOrderId is not null))
                {
                    (byOrder.TryGetValue(intent.PaymentOrderId!, out var list) ? list : byOrder[intent.PaymentOrderId!] = []).Add(intent);
                }

                if (!page.HasMore || page.Intents.Count == 0)
                {
                    break;
                }

                startingAfter = page.Intents[^1].Id;
            }
        }
        catch (PspReadException exception)
        {
            return new PspChargeFindings(0, 0, [], [], exception.Message);
        }

        var ids = booked.Union(byOrder.Keys).Order(StringComparer.Ordinal).ToArray();
        return await CompareAsync(ids, booked, byOrder.ToDictionary(pair => pair.Key, pair => (IReadOnlyList<PspPaymentIntent>)pair.Value, StringComparer.Ordinal), cancellationToken);
    }

    private async Task<PspChargeFindings> CompareAsync(
        IReadOnlyList<string> ids, HashSet<string> success, Dictionary<string, IReadOnlyList<PspPaymentIntent>> byOrder, CancellationToken cancellationToken)
    {
        var doubleCharges = new List<string>();
        var mismatches = new List<string>();
        var unbooked = new List<string>();
        foreach (var id in ids)
        {
            var succeeded = byOrder.GetValueOrDefault(id)?.Where(intent => intent.Succeeded).ToArray() ?? [];
            if (succeeded.Length > 1)
            {
                doubleCharges.Add($"payment order {id} charged {succeeded.Length} times at the PSP ({string.Join(", ", succeeded.Select(intent => intent.Id))})");
            }

            if (succeeded.Length == 0 && success.Contains(id))
            {
                mismatches.Add($"payment order {id} is SUCCESS but the PSP has no succeeded payment intent for it");
            }
            else if (succeeded.Length > 0 && !success.Contains(id))
            {
                unbooked.Add(id);
            }
        }

        // A charge without our booking: read the order now (after the PSP), since it may have finished while we read.
        // Work owed is read before the bookings: an order that books and drops its drive wake-up in between is then seen booked.
        var inFlight = 0;
        var owing = await queries.WithWorkOwedAsync(unbooked, cancellationToken);
        var booked = await queries.BookedPayinsAsync(unbooked, cancellationToken);
        var owedBack = await queries.LatePaymentReferencesAsync(unbooked, cancellationToken);
        var candidates = unbooked.Where(id => !booked.Contains(id)).ToArray();
        var views = await ReadOrdersAsync(candidates);
        foreach (var id in candidates)
        {
            var view = views.GetValueOrDefault(id);
            var charges = byOrder[id].Where(intent => intent.Succeeded && !owedBack.Contains(intent.Id)).ToArray();
            if (charges.Length == 0)
            {
                // Every charge of it is booked as owed back to the buyer (a late payment of a FAILED order): accounted for.
                continue;
            }

            var charge = charges[0];
            if (view is null)
            {
                mismatches.Add($"PSP charge {charge.Id} names payment order {id}, which does not exist");
            }
            else if (!view.Status.IsFinal() || owing.Contains(id))
            {
                // Still finding out (webhook, poll, retry, a parked order an operator replays), or booking what it found right now;
                // one that never gets there is reported by success_orders_settled or the stuck-payments listing.
                inFlight++;
            }
            else
            {
                mismatches.Add($"PSP charge {charge.Id} for payment order {id}, which is {view.Status.ToString().ToUpperInvariant()} and not booked");
            }
        }

        return new PspChargeFindings(ids.Count, inFlight, doubleCharges, mismatches, null);
    }

    private async Task<Dictionary<string, PaymentOrderView>> ReadOrdersAsync(IReadOnlyList<string> ids)
    {
        var views = new Dictionary<string, PaymentOrderView>(StringComparer.Ordinal);
        foreach (var chunk in ids.Chunk(32))
        {
            var read = await Task.WhenAll(chunk.Select(id => grains.GetGrain<IPaymentOrderGrain>(id).GetAsync()));
            foreach (var view in read.OfType<PaymentOrderView>())
            {
                views[view.PaymentOrderId] = view;
            }
        }

        return views;
    }
}
