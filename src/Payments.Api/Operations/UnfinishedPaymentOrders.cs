using Microsoft.Extensions.Options;
using Payments.Core.PaymentOrders;

namespace Payments.Api.Operations;

/// <summary>The payment orders that still owe work, as their grains see them now.</summary>
public sealed class UnfinishedPaymentOrders(OperationsQueries queries, IGrainFactory grains, IOptions<OperationsOptions> options)
{
    public async Task<IReadOnlyList<PaymentOrderView>> ListAsync(CancellationToken cancellationToken)
    {
        var ids = await queries.PaymentOrdersWithWorkOwedAsync(Math.Clamp(options.Value.ListPageSize, 1, 100_000), cancellationToken);
        var orders = new List<PaymentOrderView>(ids.Count);
        // Bounded fan-out: a handful of grain reads in flight at a time.
        foreach (var chunk in ids.Chunk(32))
        {
            var views = await Task.WhenAll(chunk.Select(id => grains.GetGrain<IPaymentOrderGrain>(id).GetAsync()));
            orders.AddRange(views.OfType<PaymentOrderView>());
        }

        return orders;
    }

    /// <summary>
    /// Orders that still owe work (the order's own answer: not final, or moves owed, or the PSP still to hear or ask) although
    /// created longer ago than <paramref name="olderThan"/>.
    /// </summary>
    public async Task<IReadOnlyList<PaymentOrderView>> StuckAsync(TimeSpan olderThan, DateTimeOffset now, CancellationToken cancellationToken) =>
        (await ListAsync(cancellationToken))
            .Where(order => order.CreatedAt <= now - olderThan && order.OwesWork)
            .OrderBy(order => order.CreatedAt)
            .ToArray();
}
