using System.Globalization;
using System.Text;

namespace Payments.LoadTest.Soak;

/// <summary>
/// What a soak did and what the checks found. The checks: no order charged twice (nor a payout paid twice) at the PSP;
/// nothing lost (an accepted checkout or order that does not exist, a PSP charge, refund or payout without its order or
/// payout and booking, an order SUCCESS without a charge); the invariants hold; nothing stuck (not final, parked, or on
/// the stuck lists after the settle); every event owed delivered to the merchant's endpoint.
/// </summary>
internal sealed class SoakReport
{
    public TimeSpan Duration { get; set; }

    public TimeSpan Settle { get; set; }

    public bool Settled { get; set; }

    public int Checkouts { get; set; }

    public int Orders { get; set; }

    public int Succeeded { get; set; }

    public int Failed { get; set; }

    public int Refunds { get; set; }

    public int RefundsSucceeded { get; set; }

    public int Fulfilled { get; set; }

    public int Payouts { get; set; }

    public int PayoutsPaid { get; set; }

    public int PayoutsFailed { get; set; }

    /// <summary>Faults the simulator certainly made: the failing test tokens' answers, and webhooks it dropped or sent twice.</summary>
    public int Faults { get; set; }

    public int FaultWindows { get; set; }

    public int Kills { get; set; }

    /// <summary>Charges the PSP was asked again for (an order's attempts past the first): what the faults and the kills cost.</summary>
    public long PspRetries { get; set; }

    public long Requests { get; set; }

    public long ClientRetries { get; set; }

    public long Status500 { get; set; }

    public long Status503 { get; set; }

    public string RetriedStatuses { get; set; } = "";

    public int DoubleCharges { get; set; }

    public int DoublePayouts { get; set; }

    public int Lost { get; set; }

    public int Unbalanced { get; set; }

    public int Stuck { get; set; }

    public int WebhooksOwed { get; set; }

    public int WebhooksDelivered { get; set; }

    public int WebhooksMissing { get; set; }

    /// <summary>What each failed check found, one line each (the first few of a kind), for a person to follow up.</summary>
    public List<string> Findings { get; } = [];

    public bool Passed => DoubleCharges == 0 && DoublePayouts == 0 && Lost == 0 && Unbalanced == 0 && Stuck == 0 && WebhooksMissing == 0;

    public void Find(string kind, string what)
    {
        lock (Findings)
        {
            if (Findings.Count(line => line.StartsWith(kind + ":", StringComparison.Ordinal)) < 10)
            {
                Findings.Add($"{kind}: {what}");
            }
        }
    }

    public string SummaryLine => string.Create(CultureInfo.InvariantCulture,
        $"soak: orders={Orders} succeeded={Succeeded} failed={Failed} refunds={Refunds} payouts={Payouts} faults={Faults} "
        + $"fault_windows={FaultWindows} kills={Kills} double_charges={DoubleCharges} double_payouts={DoublePayouts} lost={Lost} "
        + $"unbalanced={Unbalanced} stuck={Stuck} webhooks={WebhooksDelivered}/{WebhooksOwed} webhooks_missing={WebhooksMissing}");

    public string Details()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"soak ran {Duration.TotalSeconds:F0} s, then {(Settled ? "settled" : "did NOT settle")} in {Settle.TotalSeconds:F0} s");
        text.AppendLine(CultureInfo.InvariantCulture, $"  checkouts accepted {Checkouts}, orders {Orders}: {Succeeded} SUCCESS, {Failed} FAILED, {Orders - Succeeded - Failed} other");
        text.AppendLine(CultureInfo.InvariantCulture, $"  refunds {Refunds} ({RefundsSucceeded} SUCCEEDED), fulfilled {Fulfilled}, payouts {Payouts} ({PayoutsPaid} PAID, {PayoutsFailed} FAILED)");
        text.AppendLine(CultureInfo.InvariantCulture, $"  faults: {Faults} certain ones, {FaultWindows} fault windows, {Kills} silos killed; the PSP asked again for {PspRetries} charges");
        text.AppendLine(CultureInfo.InvariantCulture, $"  client: {Requests} requests, {ClientRetries} sent again with the same key ({RetriedStatuses}), {Status500} x 500, {Status503} x 503");
        foreach (var finding in Findings)
        {
            text.AppendLine("  " + finding);
        }

        text.Append(SummaryLine);
        return text.ToString();
    }
}
