using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace Payments.LoadTest.Soak;

/// <summary>
/// The settle after the chaos: with the faults off and every silo up, polls (bounded) until every accepted checkout is
/// final with no refund pending, every payout final and agreeing with the PSP, the stuck lists empty, the invariants ok and
/// every event owed delivered. A buyer who never got to answer the PSP's page answers it now.
/// </summary>
internal sealed class SoakSettle(SoakHttp merchant, SoakHttp operators, SoakHttp psp, SoakRecord record, SoakWorkload workload, SoakWebhookReceiver receiver, Action<string> log)
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(15);

    public async Task<bool> RunAsync(TimeSpan bound)
    {
        var clock = Stopwatch.StartNew();
        var lastLog = TimeSpan.Zero;
        var open = record.Checkouts.Values.ToList();
        var openPayouts = record.Payouts.Keys.ToList();
        while (true)
        {
            open = await OpenCheckoutsAsync(open);
            openPayouts = await OpenPayoutsAsync(openPayouts);
            var stuck = open.Count + openPayouts.Count == 0 ? await OperationsOpenAsync() : -1;
            var undelivered = stuck == 0 ? (await WebhooksAsync()).Owed.Count(id => !receiver.Events.ContainsKey(id)) + OutcomesWithoutEvent().Count : -1;
            if (undelivered == 0)
            {
                log($"settle: everything final, the invariants hold and every event is delivered after {clock.Elapsed.TotalSeconds:F0} s");
                return true;
            }

            if (clock.Elapsed > bound || clock.Elapsed - lastLog > LogEvery)
            {
                lastLog = clock.Elapsed;
                log($"settle: after {clock.Elapsed.TotalSeconds:F0} s {open.Count} checkouts and {openPayouts.Count} payouts not final"
                    + (stuck > 0 ? $", the operations say {stuck} open (stuck lists, failed invariants)" : "")
                    + (undelivered > 0 ? $", {undelivered} events not delivered (outcomes without one: {string.Join(", ", OutcomesWithoutEvent().Take(3))})" : "")
                    + (open.Count > 0 ? $"; e.g. {string.Join(", ", open.Take(3).Select(c => c.CheckoutId))}" : ""));
                if (clock.Elapsed > bound)
                {
                    return false;
                }
            }

            await Task.Delay(Poll);
        }
    }

    /// <summary>
    /// Outcomes whose event has not reached the endpoint yet: each accepted checkout's completion, each order's success or
    /// failure, each payout's last word. An event is written after its change is stored, perhaps after retries, so it is
    /// waited for, not expected at once.
    /// </summary>
    public List<string> OutcomesWithoutEvent()
    {
        var delivered = receiver.Events.Values.Select(e => (e.Type, e.ObjectId)).ToHashSet();
        bool Has(string id, params string[] types) => types.Any(type => delivered.Contains((type, id)));
        return record.Checkouts.Values.Where(c => !Has(c.CheckoutId, "checkout.completed")).Select(c => $"checkout.completed {c.CheckoutId}")
            .Concat(record.Checkouts.Values.SelectMany(c => c.Orders)
                .Where(o => !Has(o.PaymentOrderId, "payment_order.succeeded", "payment_order.failed"))
                .Select(o => $"payment_order.succeeded|failed {o.PaymentOrderId}"))
            .Concat(record.Payouts.Keys.Where(id => !Has(id, "payout.paid", "payout.failed")).Select(id => $"payout.paid|failed {id}"))
            .ToList();
    }

    /// <summary>The merchant's events about this run's objects, from the log, oldest first.</summary>
    public async Task<(List<string> Owed, List<SoakEvent> Logged)> WebhooksAsync()
    {
        var logged = new List<SoakEvent>();
        string? after = null;
        while (true)
        {
            var page = await merchant.GetAsync($"/v1/events?limit=1000&order=asc{(after is null ? "" : $"&starting_after={after}")}");
            if (page.Status != 200)
            {
                // Unreadable now: nothing can be said to be delivered yet.
                return ([$"events log answered {page.Status}"], logged);
            }

            foreach (var item in SoakJson.Items(page.Body, "events"))
            {
                var type = SoakJson.Text(item, "type") ?? "";
                var soakEvent = new SoakEvent(SoakJson.Text(item, "id")!, type, SoakWebhookReceiver.ObjectId(type, SoakJson.Field(SoakJson.Field(item, "data"), "object")));
                after = soakEvent.Id;
                if (record.IsOurs(soakEvent.ObjectId))
                {
                    logged.Add(soakEvent);
                }
            }

            if (!SoakJson.True(page.Body, "has_more"))
            {
                return (logged.Select(e => e.Id).ToList(), logged);
            }
        }
    }

    /// <summary>How much the operations routes still call open: stuck orders and payouts, dead letters, failed invariants.</summary>
    private async Task<int> OperationsOpenAsync()
    {
        var payments = await operators.GetAsync("/v1/ops/stuck-payments?older_than=PT0S");
        var payouts = await operators.GetAsync("/v1/ops/stuck-payouts?older_than=PT0S");
        var parked = await operators.GetAsync("/v1/ops/dead-letters");
        var invariants = await operators.GetAsync("/v1/ops/invariants");
        if (payments.Status != 200 || payouts.Status != 200 || parked.Status != 200 || invariants.Status != 200)
        {
            return int.MaxValue;
        }

        return SoakJson.Items(payments.Body, "payments").Count() + SoakJson.Items(payouts.Body, "payouts").Count()
            + SoakJson.Items(parked.Body, "dead_letters").Count() + SoakJson.Items(invariants.Body, "checks").Count(check => !SoakJson.True(check, "ok"));
    }

    private async Task<List<SoakCheckout>> OpenCheckoutsAsync(IReadOnlyList<SoakCheckout> checkouts)
    {
        var open = new ConcurrentBag<SoakCheckout>();
        await ForEachAsync(checkouts, async checkout =>
        {
            var view = await merchant.GetAsync($"/v1/checkouts/{checkout.CheckoutId}");
            if (view.Status == 404)
            {
                // Lost, not open: the checks say so; waiting will not bring it.
                return;
            }

            if (view.Status != 200 || !IsFinal(view.Body))
            {
                open.Add(checkout);
                if (view.Status == 200)
                {
                    await workload.AnswerPageAsync(checkout, view.Body);
                }
            }
        });
        return [.. open];
    }

    private async Task<List<string>> OpenPayoutsAsync(IReadOnlyList<string> payoutIds)
    {
        if (payoutIds.Count == 0)
        {
            return [];
        }

        var atPsp = await PspPayoutsAsync();
        var open = new ConcurrentBag<string>();
        await ForEachAsync(payoutIds, async payoutId =>
        {
            var view = await merchant.GetAsync($"/v1/payouts/{payoutId}");
            if (view.Status != 200 || !IsFinal(view.Body, atPsp[payoutId]))
            {
                open.Add(payoutId);
            }
        });
        return [.. open];
    }

    /// <summary>The PSP's payouts of this run, by our payout id.</summary>
    public async Task<ILookup<string, JsonElement>> PspPayoutsAsync() =>
        SoakJson.Items((await psp.GetAsync("/_sim/payouts")).Body)
            .Where(payout => record.IsOurs(SoakJson.Text(SoakJson.Field(payout, "metadata"), "payout_id")))
            .ToLookup(payout => SoakJson.Text(SoakJson.Field(payout, "metadata"), "payout_id")!);

    /// <summary>A checkout is final when every order is and no refund of theirs is still pending.</summary>
    public static bool IsFinal(JsonElement checkout) =>
        SoakJson.True(checkout, "is_payment_done")
        && SoakJson.Items(checkout, "orders").All(order => SoakJson.Items(order, "refunds").All(refund => SoakJson.Text(refund, "status") != "PENDING"));

    /// <summary>
    /// A payout is final when it is PAID or FAILED and the PSP says the same; one to <c>ba_sim_fails_after_paid</c> only
    /// once FAILED, since the bank sends it back after it was paid.
    /// </summary>
    public static bool IsFinal(JsonElement payout, IEnumerable<JsonElement> atPsp)
    {
        var status = SoakJson.Text(payout, "status");
        var pspStatuses = atPsp.Select(p => SoakJson.Text(p, "status")).ToArray();
        return status switch
        {
            "PAID" => SoakJson.Text(payout, "destination") != "ba_sim_fails_after_paid" && pspStatuses is ["paid"],
            "FAILED" => pspStatuses.All(s => s is "failed" or "canceled"),
            _ => false,
        };
    }

    /// <summary>A few requests at a time: the settle and the checks read thousands of resources and must not be the load.</summary>
    public static Task ForEachAsync<T>(IEnumerable<T> items, Func<T, Task> body) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (item, _) => await body(item));
}
