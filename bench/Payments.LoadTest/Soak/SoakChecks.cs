using System.Collections.Concurrent;
using System.Text.Json;

namespace Payments.LoadTest.Soak;

/// <summary>
/// The checks after the settle, against the PSP's own records (the simulator's lists) and ours (the API, the ledger, the
/// operations routes): double charges and payouts, anything lost, the invariants, anything stuck, webhooks owed.
/// </summary>
internal sealed class SoakChecks(SoakHttp merchant, SoakHttp operators, SoakHttp psp, SoakRecord record, SoakSettle settle, SoakWebhookReceiver receiver)
{
    private readonly ConcurrentDictionary<string, JsonElement> _orders = new();
    private readonly ConcurrentDictionary<string, bool> _stuck = new();
    private int _lost;

    public async Task RunAsync(SoakReport report)
    {
        await ReadCheckoutsAsync(report);
        TallyOrders(report);
        await CheckChargesAsync(report);
        await CheckLedgerAsync(report);
        await CheckPayoutsAsync(report);
        await CheckOperationsAsync(report);
        await CheckWebhooksAsync(report);
        await CountFaultsAsync(report);
        report.Lost = _lost;
        report.Stuck = _stuck.Count;
    }

    private void Lost(SoakReport report, string what)
    {
        Interlocked.Increment(ref _lost);
        report.Find("lost", what);
    }

    private void Stuck(SoakReport report, string id, string what)
    {
        if (_stuck.TryAdd(id, true))
        {
            report.Find("stuck", $"{id} {what}");
        }
    }

    /// <summary>Every checkout answered 201 or 202 exists with each of its orders.</summary>
    private async Task ReadCheckoutsAsync(SoakReport report)
    {
        report.Checkouts = record.Checkouts.Count;
        await SoakSettle.ForEachAsync(record.Checkouts.Values, async checkout =>
        {
            var view = await merchant.GetAsync($"/v1/checkouts/{checkout.CheckoutId}");
            if (view.Status != 200)
            {
                Lost(report, $"checkout {checkout.CheckoutId} was answered {checkout.Answer}, now GET answers {view.Status}");
                return;
            }

            foreach (var line in checkout.Orders)
            {
                if (SoakJson.Items(view.Body, "orders").FirstOrDefault(o => SoakJson.Text(o, "payment_order_id") == line.PaymentOrderId) is { ValueKind: JsonValueKind.Object } order)
                {
                    _orders[line.PaymentOrderId] = order;
                }
                else
                {
                    Lost(report, $"order {line.PaymentOrderId} of accepted checkout {checkout.CheckoutId} is not in it");
                }
            }
        });
    }

    private void TallyOrders(SoakReport report)
    {
        foreach (var (id, order) in _orders)
        {
            report.Orders++;
            var status = SoakJson.Text(order, "status");
            report.Succeeded += status == "SUCCESS" ? 1 : 0;
            report.Failed += status == "FAILED" ? 1 : 0;
            if (status is not ("SUCCESS" or "FAILED"))
            {
                Stuck(report, id, $"is {status} (attempts {SoakJson.Long(order, "attempts")}, next retry {SoakJson.Text(order, "next_retry_at")})");
            }

            report.Fulfilled += SoakJson.Text(order, "fulfilled_at") is null ? 0 : 1;
            report.PspRetries += Math.Max(0, SoakJson.Long(order, "attempts") - 1);
            foreach (var refund in SoakJson.Items(order, "refunds"))
            {
                report.Refunds++;
                report.RefundsSucceeded += SoakJson.Text(refund, "status") == "SUCCEEDED" ? 1 : 0;
                if (SoakJson.Text(refund, "status") == "PENDING")
                {
                    Stuck(report, SoakJson.Text(refund, "refund_id") ?? id, $"refund of {id} still PENDING");
                }
            }
        }
    }

    /// <summary>
    /// The PSP's payment intents of this run, by our payment_order_id: at most one succeeded per order; each succeeded one
    /// is the order's psp_reference with the order SUCCESS and its refunds as the PSP has them; every SUCCESS order has one.
    /// </summary>
    private async Task CheckChargesAsync(SoakReport report)
    {
        var intents = SoakJson.Items((await psp.GetAsync("/_sim/payment_intents")).Body)
            .Where(intent => record.IsOurs(SoakJson.Text(SoakJson.Field(intent, "metadata"), "payment_order_id")))
            .ToLookup(intent => SoakJson.Text(SoakJson.Field(intent, "metadata"), "payment_order_id")!);
        foreach (var group in intents)
        {
            var succeeded = group.Where(intent => SoakJson.Text(intent, "status") == "succeeded").ToArray();
            if (succeeded.Length > 1)
            {
                report.DoubleCharges++;
                report.Find("double_charge", $"{group.Key}: {succeeded.Length} succeeded intents {string.Join(", ", succeeded.Select(i => SoakJson.Text(i, "id")))}");
            }

            if (succeeded.Length == 0)
            {
                continue;
            }

            var order = _orders.TryGetValue(group.Key, out var known) ? known : (await operators.GetAsync($"/v1/payments/{group.Key}")).Body;
            var intent = succeeded[0];
            if (SoakJson.Text(order, "status") != "SUCCESS" || SoakJson.Text(order, "psp_reference") != SoakJson.Text(intent, "id"))
            {
                Lost(report, $"PSP charged {group.Key} ({SoakJson.Text(intent, "id")}); the order is {SoakJson.Text(order, "status") ?? "missing"} with psp_reference {SoakJson.Text(order, "psp_reference")}");
            }
            else if (SoakJson.Long(intent, "amount_refunded") != SoakJson.Minor(order, "refunded_amount"))
            {
                Lost(report, $"PSP refunded {SoakJson.Long(intent, "amount_refunded")} of {group.Key}, the order says {SoakJson.Text(order, "refunded_amount")}");
            }
        }

        foreach (var (id, order) in _orders.Where(o => SoakJson.Text(o.Value, "status") == "SUCCESS"))
        {
            if (!intents[id].Any(intent => SoakJson.Text(intent, "status") == "succeeded"))
            {
                Lost(report, $"{id} is SUCCESS but the PSP holds no succeeded charge for it");
            }
        }
    }

    /// <summary>Every SUCCESS order is booked once as a pay-in of its amount, and each of its succeeded refunds once.</summary>
    private async Task CheckLedgerAsync(SoakReport report)
    {
        await SoakSettle.ForEachAsync(_orders.Where(o => SoakJson.Text(o.Value, "status") == "SUCCESS"), async pair =>
        {
            var (id, order) = pair;
            var answer = await operators.GetAsync($"/v1/ledger/transactions?payment_order_id={id}");
            var transactions = SoakJson.Items(answer.Body, "transactions").ToArray();
            var payins = transactions.Where(t => SoakJson.Text(t, "kind") == "payin").ToArray();
            var booked = payins.Length == 1
                ? SoakJson.Items(payins[0], "entries").Where(e => SoakJson.Text(e, "direction") == "credit").Sum(e => SoakJson.Minor(e, "amount"))
                : 0;
            if (answer.Status != 200 || payins.Length != 1 || booked != SoakJson.Minor(order, "amount"))
            {
                Lost(report, $"{id} is SUCCESS for {SoakJson.Text(order, "amount")}; the ledger has {payins.Length} pay-ins booking {booked} minor units (answer {answer.Status})");
            }

            var externalIds = transactions.Select(t => SoakJson.Text(t, "external_id")).ToHashSet();
            foreach (var refund in SoakJson.Items(order, "refunds").Where(r => SoakJson.Text(r, "status") == "SUCCEEDED"))
            {
                if (!externalIds.Contains($"refund:{SoakJson.Text(refund, "refund_id")}"))
                {
                    Lost(report, $"refund {SoakJson.Text(refund, "refund_id")} of {id} SUCCEEDED but is not booked");
                }
            }
        });
    }

    /// <summary>Every payout of this run (ours and the PSP's): final, paid at most once at the PSP, PAID exactly when the PSP paid it.</summary>
    private async Task CheckPayoutsAsync(SoakReport report)
    {
        var atPsp = await settle.PspPayoutsAsync();
        foreach (var group in atPsp.Where(group => group.Count() > 1))
        {
            report.DoublePayouts++;
            report.Find("double_payout", $"{group.Key}: {group.Count()} payouts at the PSP");
        }

        var ids = record.Payouts.Keys.Concat(atPsp.Select(group => group.Key)).Distinct().ToArray();
        report.Payouts = ids.Length;
        var views = new ConcurrentDictionary<string, SoakAnswer>();
        await SoakSettle.ForEachAsync(ids, async id => views[id] = await merchant.GetAsync($"/v1/payouts/{id}"));
        foreach (var (id, view) in views)
        {
            var status = SoakJson.Text(view.Body, "status");
            var pspStatuses = atPsp[id].Select(p => SoakJson.Text(p, "status")).ToArray();
            report.PayoutsPaid += status == "PAID" ? 1 : 0;
            report.PayoutsFailed += status == "FAILED" ? 1 : 0;
            if (view.Status != 200)
            {
                Lost(report, $"payout {id}: GET answers {view.Status}, the PSP holds [{string.Join(", ", pspStatuses)}]");
            }
            else if (!SoakSettle.IsFinal(view.Body, atPsp[id]))
            {
                if (status is "PAID" or "FAILED")
                {
                    Lost(report, $"payout {id} is {status} to {SoakJson.Text(view.Body, "destination")}, the PSP says [{string.Join(", ", pspStatuses)}]");
                }
                else
                {
                    Stuck(report, id, $"is {status}, the PSP says [{string.Join(", ", pspStatuses)}]");
                }
            }
        }
    }

    /// <summary>The invariants (each failed one counts), and the stuck lists and dead letters (each entry counts once).</summary>
    private async Task CheckOperationsAsync(SoakReport report)
    {
        // psp=full: the invariants also compare every PSP charge with our orders and pay-ins, not a sample.
        var invariants = await operators.GetAsync("/v1/ops/invariants?psp=full");
        if (invariants.Status != 200 || !SoakJson.True(invariants.Body, "ok"))
        {
            var failed = SoakJson.Items(invariants.Body, "checks").Where(check => !SoakJson.True(check, "ok")).ToArray();
            report.Unbalanced = Math.Max(1, failed.Length);
            foreach (var check in failed)
            {
                report.Find("unbalanced", $"{SoakJson.Text(check, "name")}: {SoakJson.Text(check, "detail")}");
            }
        }

        foreach (var payment in SoakJson.Items((await operators.GetAsync("/v1/ops/stuck-payments?older_than=PT0S")).Body, "payments"))
        {
            Stuck(report, SoakJson.Text(payment, "payment_order_id") ?? "?", $"on stuck-payments as {SoakJson.Text(payment, "status")}");
        }

        foreach (var payout in SoakJson.Items((await operators.GetAsync("/v1/ops/stuck-payouts?older_than=PT0S")).Body, "payouts"))
        {
            Stuck(report, SoakJson.Text(payout, "payout_id") ?? "?", $"on stuck-payouts as {SoakJson.Text(payout, "status")}");
        }

        foreach (var parked in SoakJson.Items((await operators.GetAsync("/v1/ops/dead-letters")).Body, "dead_letters"))
        {
            Stuck(report, SoakJson.Text(parked, "payment_order_id") ?? SoakJson.Text(parked, "payout_id") ?? "?",
                $"parked at stage {SoakJson.Text(parked, "stage")}: {SoakJson.Text(parked, "last_error")}");
        }
    }

    /// <summary>
    /// Every event of this run in the log was delivered, and every outcome has its event delivered: an order's succeeded or
    /// failed, a checkout's completed, a refund's and a payout's final word.
    /// </summary>
    private async Task CheckWebhooksAsync(SoakReport report)
    {
        var (owed, _) = await settle.WebhooksAsync();
        var missing = owed.Where(id => !receiver.Events.ContainsKey(id)).ToList();
        var delivered = receiver.Events.Values.Select(e => (e.Type, e.ObjectId)).ToHashSet();
        var expected = new List<(string Type, string? Id)>();
        foreach (var (id, order) in _orders)
        {
            expected.Add((SoakJson.Text(order, "status") == "SUCCESS" ? "payment_order.succeeded" : "payment_order.failed", id));
            expected.AddRange(SoakJson.Items(order, "refunds").Where(r => SoakJson.Text(r, "status") == "SUCCEEDED")
                .Select(r => ("refund.succeeded", SoakJson.Text(r, "refund_id"))));
        }

        expected.AddRange(record.Checkouts.Keys.Select(id => ("checkout.completed", (string?)id)));
        foreach (var (id, view) in (await settle.PspPayoutsAsync()).Select(g => (g.Key, g.First())))
        {
            expected.Add((SoakJson.Text(view, "status") == "paid" ? "payout.paid" : "payout.failed", id));
        }

        missing.AddRange(expected.Where(e => !delivered.Contains(e)).Select(e => $"{e.Type} {e.Id}"));
        report.WebhooksOwed = owed.Count;
        report.WebhooksDelivered = owed.Count(receiver.Events.ContainsKey);
        report.WebhooksMissing = missing.Count;
        foreach (var what in missing)
        {
            report.Find("webhook_missing", what);
        }

        if (receiver.BadSignatures > 0)
        {
            report.Find("note", $"{receiver.BadSignatures} of {receiver.Posts} webhook POSTs were badly signed (answered 400)");
        }
    }

    /// <summary>The faults the simulator certainly made: the failing tokens' answers, and its webhooks dropped or sent twice.</summary>
    private async Task CountFaultsAsync(SoakReport report)
    {
        var events = SoakJson.Items((await psp.GetAsync("/_sim/events")).Body)
            .Where(e => SoakJson.Field(e, "body").ToString().Contains($"_{record.RunId}_", StringComparison.Ordinal)).ToArray();
        report.Faults = record.TokenFaults
            + events.Count(e => SoakJson.True(e, "dropped"))
            + events.Count(e => SoakJson.Long(e, "deliveries") > 1);
    }
}
