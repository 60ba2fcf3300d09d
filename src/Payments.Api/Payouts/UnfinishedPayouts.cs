using Payments.Core.Payouts;

namespace Payments.Api.Payouts;

/// <summary>The payouts that still owe work, as their grains see them now.</summary>
public sealed class UnfinishedPayouts(PayoutQueries queries, IGrainFactory grains)
{
    public async Task<IReadOnlyList<PayoutView>> ListAsync(CancellationToken cancellationToken)
    {
        var ids = await queries.PayoutsWithWorkOwedAsync(cancellationToken);
        var payouts = new List<PayoutView>(ids.Count);
        // Bounded fan-out: a handful of grain reads in flight at a time.
        foreach (var chunk in ids.Chunk(32))
        {
            var views = await Task.WhenAll(chunk.Select(id => grains.GetGrain<IPayoutGrain>(id).GetAsync()));
            payouts.AddRange(views.OfType<PayoutView>());
        }

        return payouts;
    }

    /// <summary>Payouts not final (or final with bookings owed, or parked) although created longer ago than <paramref name="olderThan"/>.</summary>
    public async Task<IReadOnlyList<PayoutView>> StuckAsync(TimeSpan olderThan, DateTimeOffset now, CancellationToken cancellationToken) =>
        (await ListAsync(cancellationToken))
            .Where(payout => payout.CreatedAt <= now - olderThan && (!payout.Status.IsFinal() || payout.OwesEffects || payout.DeadLettered))
            .OrderBy(payout => payout.CreatedAt)
            .ToArray();
}
