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

    /// <summary>Orders not final (or final but with effects owed) although created longer ago than <paramref name="olderThan"/>.</summary>
    public async Task<IReadOnlyList<PaymentOrderView>> StuckAsync(TimeSpan olderThan, DateTimeOffset now, CancellationToken cancellationToken) =>
        (await ListAsync(cancellationToken))
            .Where(order => order.CreatedAt <= now - olderThan && IsStuck(order))
            .OrderBy(order => order.CreatedAt)
            .ToArray();

    private static bool IsStuck(PaymentOrderView order) =>
        !order.Status.IsFinal() || order.OwesEffects || order.Refunds.Any(refund => refund.Status == RefundStatus.Pending);
}
