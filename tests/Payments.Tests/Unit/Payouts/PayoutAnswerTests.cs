using Payments.Psp;
using Stripe;

namespace Payments.Tests.Unit.Payouts;

/// <summary>How the PSP's answer to a payout is read: the id is what every later lookup and webhook is matched by.</summary>
public sealed class PayoutAnswerTests
{
    [Fact]
    public void An_answer_in_transit_keeps_the_psp_payout_id_and_its_arrival_date()
    {
        var arrival = new DateTime(2026, 12, 4, 0, 0, 0, DateTimeKind.Utc);
        var outcome = StripePspClient.FromPayout(new Payout { Id = "po_sim_1", Status = "in_transit", ArrivalDate = arrival });

        Assert.Equal(new PspPayoutOutcome(PspPayoutStatus.InTransit, "po_sim_1", null, null, new DateTimeOffset(arrival)), outcome);
    }

    [Fact]
    public void An_answer_without_an_arrival_date_has_none_not_the_unix_epoch()
    {
        Assert.Null(StripePspClient.FromPayout(new Payout { Id = "po_sim_1", Status = "in_transit" }).ArrivalDate);
    }

    [Theory]
    [InlineData(null, "in_transit")]
    [InlineData("", "paid")]
    [InlineData(null, null)]
    public void An_answer_that_names_no_payout_is_unknown_so_the_payout_is_asked_for_again_with_its_key(string? id, string? status)
    {
        var outcome = StripePspClient.FromPayout(new Payout { Id = id, Status = status });

        Assert.Equal(PspPayoutStatus.Unknown, outcome.Status);
        Assert.Null(outcome.PspPayoutId);
        Assert.Equal("no_payout_id", outcome.FailureCode);
    }
}
