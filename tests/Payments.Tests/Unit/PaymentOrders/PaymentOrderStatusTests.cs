using Payments.Core.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

public sealed class PaymentOrderStatusTests
{
    [Theory]
    [InlineData(PaymentOrderStatus.NotStarted, PaymentOrderStatus.Executing)]
    [InlineData(PaymentOrderStatus.Executing, PaymentOrderStatus.Success)]
    [InlineData(PaymentOrderStatus.Executing, PaymentOrderStatus.Failed)]
    [InlineData(PaymentOrderStatus.Executing, PaymentOrderStatus.RequiresAction)]
    [InlineData(PaymentOrderStatus.RequiresAction, PaymentOrderStatus.Success)]
    [InlineData(PaymentOrderStatus.RequiresAction, PaymentOrderStatus.Failed)]
    public void Allows_the_transitions_of_the_architecture(PaymentOrderStatus from, PaymentOrderStatus to) => Assert.True(from.CanMoveTo(to));

    [Fact]
    public void Refuses_every_other_transition_and_never_leaves_a_final_state()
    {
        var all = Enum.GetValues<PaymentOrderStatus>();
        var allowed = all.SelectMany(from => all.Where(to => from.CanMoveTo(to)).Select(to => (from, to))).ToArray();

        Assert.Equal(6, allowed.Length);
        Assert.DoesNotContain(allowed, transition => transition.from.IsFinal());
        Assert.DoesNotContain(allowed, transition => transition.to == PaymentOrderStatus.NotStarted);
    }
}
