using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

public sealed class WakeUpTests
{
    [Fact]
    public void A_wait_not_due_yet_is_its_rest_kept_alive_only_while_the_psp_has_not_answered()
    {
        var now = OrderFixtures.Start;

        Assert.Equal(new WakeUp(TimeSpan.FromSeconds(30), KeepAlive: true), WakeUp.UntilDue(now.AddSeconds(30), now, pspAnswered: false));
        Assert.Equal(new WakeUp(TimeSpan.FromSeconds(30), KeepAlive: false), WakeUp.UntilDue(now.AddSeconds(30), now, pspAnswered: true));
    }

    [Fact]
    public void A_wait_that_is_due_or_none_at_all_means_try_now()
    {
        var now = OrderFixtures.Start;

        Assert.Null(WakeUp.UntilDue(now, now, pspAnswered: false));
        Assert.Null(WakeUp.UntilDue(now.AddTicks(-1), now, pspAnswered: false));
        Assert.Null(WakeUp.UntilDue(null, now, pspAnswered: true));
    }

    [Fact]
    public void Retries_keep_the_activation_and_polls_do_not()
    {
        Assert.True(WakeUp.Retry(TimeSpan.FromSeconds(1)).KeepAlive);
        Assert.False(WakeUp.Poll(TimeSpan.FromMinutes(1)).KeepAlive);
    }
}
