using Payments.Core.Payouts;
using Payments.Grains.Payouts;

namespace Payments.Tests.Unit.Payouts;

public sealed class PayoutInvariantsTests
{
    [Fact]
    public void A_reserved_payout_and_one_that_does_not_exist_pass()
    {
        PayoutInvariants.Assert(PayoutStates.PayoutId, PayoutStates.Reserved());
        PayoutInvariants.Assert(PayoutStates.PayoutId, new PayoutState { Currency = "???", Status = PayoutStatus.Paid, ReturnedAfterPaid = true });
    }

    [Theory]
    [InlineData("an unknown currency")]
    [InlineData("a reservation of nothing")]
    [InlineData("a request for nothing")]
    [InlineData("in transit without a reservation")]
    [InlineData("a PSP attempt without a reservation")]
    [InlineData("returned but paid")]
    public void A_payout_state_that_breaks_an_invariant_is_refused(string violation)
    {
        var state = PayoutStates.Reserved();
        switch (violation)
        {
            case "an unknown currency": state.Currency = "XYZ"; break;
            case "a reservation of nothing": state.AmountMinor = 0; break;
            case "a request for nothing": state.RequestedMinor = 0; break;
            case "in transit without a reservation": (state.Reserved, state.Status) = (false, PayoutStatus.InTransit); break;
            case "a PSP attempt without a reservation": (state.Reserved, state.Attempts) = (false, 1); break;
            case "returned but paid": (state.Status, state.ReturnedAfterPaid) = (PayoutStatus.Paid, true); break;
            default: throw new ArgumentOutOfRangeException(nameof(violation), violation, null);
        }

        var refused = Assert.Throws<InvalidOperationException>(() => PayoutInvariants.Assert(PayoutStates.PayoutId, state));
        Assert.Contains("pay_1", refused.Message, StringComparison.Ordinal);
    }
}
