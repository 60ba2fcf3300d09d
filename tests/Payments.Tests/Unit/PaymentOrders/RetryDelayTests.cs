using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

public sealed class RetryDelayTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(4, 8)]
    [InlineData(20, 300)]
    public void Full_jitter_stays_within_the_exponential_ceiling(int attempt, int ceilingSeconds)
    {
        var random = new Random(7);
        var delays = Enumerable.Range(0, 500)
            .Select(_ => RetryDelay.Next(attempt, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), retryAfter: null, random))
            .ToArray();

        Assert.All(delays, delay => Assert.InRange(delay, TimeSpan.Zero, TimeSpan.FromSeconds(ceilingSeconds)));
        Assert.True(delays.Max() > TimeSpan.FromSeconds(ceilingSeconds) * 0.8, "jitter never came near the ceiling");
    }

    [Fact]
    public void Retry_after_from_the_psp_is_a_floor()
    {
        var delay = RetryDelay.Next(1, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(30), new Random(1));

        Assert.Equal(TimeSpan.FromSeconds(30), delay);
    }
}
