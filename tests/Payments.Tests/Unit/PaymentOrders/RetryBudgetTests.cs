using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>The one retry rule: the delays of PaymentOrders:Retry's defaults (1 s doubling to 5 min) and their limit of 10 tries.</summary>
public sealed class RetryBudgetTests
{
    private static readonly PaymentOrderOptions.RetryOptions Defaults = new PaymentOrderOptions().Retry;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(9, 256)]
    [InlineData(10, 300)]
    [InlineData(20, 300)]
    [InlineData(1000, 300)]
    public void The_nth_try_waits_at_most_the_base_doubled_n_minus_one_times_up_to_five_minutes(int tries, int ceilingSeconds)
    {
        var budget = new RetryBudget(Defaults, new CeilingRandom());

        Assert.Equal(TimeSpan.FromSeconds(ceilingSeconds), budget.DelayAfter(tries));
    }

    [Fact]
    public void Full_jitter_may_retry_at_once()
    {
        var budget = new RetryBudget(Defaults, new FloorRandom());

        Assert.Equal(TimeSpan.Zero, budget.DelayAfter(7));
    }

    [Theory]
    [InlineData(1, 30, 30)]
    [InlineData(9, 30, 256)]
    [InlineData(10, 600, 600)]
    public void The_psp_s_retry_after_is_a_floor_not_a_ceiling(int tries, int retryAfterSeconds, int expectedSeconds)
    {
        var budget = new RetryBudget(Defaults, new CeilingRandom());

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), budget.DelayAfter(tries, TimeSpan.FromSeconds(retryAfterSeconds)));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(9, false)]
    [InlineData(10, true)]
    [InlineData(11, true)]
    public void The_budget_is_spent_after_attempts_max_tries(int tries, bool spent) =>
        Assert.Equal(spent, new RetryBudget(Defaults, new CeilingRandom()).IsSpent(tries));

    [Fact]
    public void A_policy_of_its_own_is_followed()
    {
        var policy = new PaymentOrderOptions.RetryOptions { DelayBase = TimeSpan.FromMilliseconds(100), DelayMax = TimeSpan.FromSeconds(1), AttemptsMax = 3 };
        var budget = new RetryBudget(policy, new CeilingRandom());

        Assert.Equal(TimeSpan.FromMilliseconds(400), budget.DelayAfter(3));
        Assert.Equal(TimeSpan.FromSeconds(1), budget.DelayAfter(5));
        Assert.True(budget.IsSpent(3));
    }
}
