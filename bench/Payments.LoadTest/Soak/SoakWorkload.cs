using System.Text.Json;

namespace Payments.LoadTest.Soak;

/// <summary>
/// The soak's buyers and merchant: each worker runs journeys (a checkout paid one of several ways, the PSP's page answered
/// when there is one, then refunds and a fulfillment of what succeeded) one after another; one more loop pays the sellers
/// out now and then. Nothing here judges the system: it only records what it asked and what it was told.
/// </summary>
internal sealed class SoakWorkload(SoakHttp merchant, SoakHttp psp, SoakRecord record, SoakSettings settings)
{
    /// <summary>How long a journey waits for its checkout or refund to be final before going on; the settle waits for the rest.</summary>
    private static readonly TimeSpan JourneyWait = TimeSpan.FromSeconds(20);

    private readonly HashSet<string> _configuredSellers = [];
    private int _nextCheckout = -1;
    private int _nextPayout = -1;

    public string Seller(int index) => $"seller_{record.RunId}_{index}";

    public Task RunAsync(CancellationToken stop) => Task.WhenAll(
        Enumerable.Range(0, settings.Workers).Select(worker => Task.Run(() => WorkerAsync(new Random(settings.Seed * 1000 + worker), stop)))
            .Append(Task.Run(() => PayoutLoopAsync(stop))));

    /// <summary>The buyer comes back to a page it never answered (its journey ended first): as the settle needs it.</summary>
    public async Task AnswerPageAsync(SoakCheckout checkout, JsonElement view)
    {
        var url = ActionUrl(view);
        if (url is null || !record.Actioned.TryAdd(checkout.CheckoutId, true))
        {
            return;
        }

        var answer = checkout.Payment switch
        {
            SoakPayment.ThreeDSecure => await psp.PostFormAsync(url, ("action", "approve")),
            SoakPayment.ThreeDSecureFailed => await psp.PostFormAsync(url, ("action", "fail")),
            SoakPayment.HostedPage => await psp.PostFormAsync(url, ("card_number", "4242424242424242")),
            SoakPayment.HostedPageDeclined => await psp.PostFormAsync(url, ("card_number", "4000000000000002")),
            _ => new SoakAnswer(200, default, 0),
        };
        if (answer.Status is 0 or >= 500)
        {
            // Not answered: let the next look try again.
            record.Actioned.TryRemove(checkout.CheckoutId, out _);
        }
    }

    private async Task WorkerAsync(Random random, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await JourneyAsync(Interlocked.Increment(ref _nextCheckout), random);
        }
    }

    private async Task JourneyAsync(int index, Random random)
    {
        var payment = PickPayment(random);
        var lines = Enumerable.Range(0, payment == SoakPayment.Card && random.Next(4) == 0 ? 2 : 1)
            .Select(k => new SoakOrderLine($"po_{record.RunId}_{index}_{k}", Seller(random.Next(settings.Sellers)), random.Next(100, 20_000)))
            .ToArray();
        var checkoutId = $"chk_{record.RunId}_{index}";
        var answer = await merchant.PostAsync("/v1/payments", CheckoutBody(checkoutId, payment, lines), $"key_{record.RunId}_{index}");
        if (answer.Status is not (201 or 202))
        {
            SoakRecord.Count(record.CheckoutsRefused, answer.Status);
            return;
        }

        var checkout = new SoakCheckout(checkoutId, payment, lines, answer.Status);
        record.Checkouts[checkoutId] = checkout;
        record.AddTokenFaults(payment switch { SoakPayment.TimeoutOnce => 1, SoakPayment.UnavailableTwice => 2, _ => 0 });
        var view = answer.Body;
        if (payment is SoakPayment.ThreeDSecure or SoakPayment.ThreeDSecureFailed or SoakPayment.HostedPage or SoakPayment.HostedPageDeclined)
        {
            view = await WaitForAsync($"/v1/checkouts/{checkoutId}", v => ActionUrl(v) is not null || SoakJson.True(v, "is_payment_done"));
            await AnswerPageAsync(checkout, view);
        }

        view = await WaitForAsync($"/v1/checkouts/{checkoutId}", v => SoakJson.True(v, "is_payment_done"));
        foreach (var order in SoakJson.Items(view, "orders").Where(order => SoakJson.Text(order, "status") == "SUCCESS"))
        {
            await AfterSaleAsync(SoakJson.Text(order, "payment_order_id")!, SoakJson.Minor(order, "amount"), random);
        }
    }

    /// <summary>What a merchant does with a paid order: sometimes a refund (part, or all), then usually the fulfillment.</summary>
    private async Task AfterSaleAsync(string orderId, long amount, Random random)
    {
        if (random.Next(10) < 4)
        {
            var key = $"rf_{orderId}";
            object body = random.Next(2) == 0 ? new { amount = SoakJson.Major(Math.Max(1, amount / 3)), reason = "requested_by_customer" } : new { };
            var refund = await merchant.PostAsync($"/v1/payments/{orderId}/refunds", body, key);
            SoakRecord.Count(record.RefundAnswers, refund.Status);
            // A refund still pending at fulfillment would come out of 'available', which a payout may have taken meanwhile.
            await WaitForAsync($"/v1/payments/{orderId}", order => SoakJson.Items(order, "refunds").All(r => SoakJson.Text(r, "status") != "PENDING"));
        }

        if (random.Next(10) < 7)
        {
            var fulfilled = await merchant.PostAsync($"/v1/payments/{orderId}/fulfillment", new { }, $"ff_{orderId}");
            SoakRecord.Count(record.FulfillmentAnswers, fulfilled.Status);
        }
    }

    /// <summary>One seller at a time, round-robin: its payout settings once, then a payout of all it has available.</summary>
    private async Task PayoutLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(settings.PayoutInterval, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var n = Interlocked.Increment(ref _nextPayout);
            var sellerIndex = n % settings.Sellers;
            var seller = Seller(sellerIndex);
            if (!_configuredSellers.Contains(seller))
            {
                // Most sellers' banks pay; one in six has closed its account, one in six sends the money back after it was paid.
                var destination = (sellerIndex % 6) switch { 4 => "ba_sim_closed", 5 => "ba_sim_fails_after_paid", _ => "ba_sim_ok" };
                var put = await merchant.PutAsync($"/v1/sellers/{seller}/payout_settings", new { destination, interval = "manual" });
                if (put.Status != 200)
                {
                    // 404: nobody has paid this seller yet.
                    continue;
                }

                _configuredSellers.Add(seller);
            }

            var payoutId = $"pay_{record.RunId}_{n}";
            var answer = await merchant.PostAsync("/v1/payouts", new { payout_id = payoutId, seller_account = seller, currency = "USD" }, payoutId);
            if (answer.Status is 200 or 201)
            {
                record.Payouts[payoutId] = seller;
            }
            else
            {
                SoakRecord.Count(record.PayoutRefusals, answer.Status);
            }
        }
    }

    /// <summary>Polls <paramref name="path"/> until <paramref name="done"/>, for at most <see cref="JourneyWait"/>; the last view either way.</summary>
    private async Task<JsonElement> WaitForAsync(string path, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + JourneyWait;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            var answer = await merchant.GetAsync(path);
            if ((answer.Status == 200 && done(answer.Body)) || DateTime.UtcNow > deadline)
            {
                return answer.Body;
            }

            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
        }
    }

    /// <summary>The PSP page the buyer has to answer: the checkout's (hosted page) or its order's (3-D Secure).</summary>
    private static Uri? ActionUrl(JsonElement checkout)
    {
        var url = SoakJson.Text(SoakJson.Field(checkout, "next_action"), "url")
            ?? SoakJson.Items(checkout, "orders").Select(order => SoakJson.Text(SoakJson.Field(order, "next_action"), "url")).FirstOrDefault(u => u is not null);
        return url is not null && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri : null;
    }

    private static SoakPayment PickPayment(Random random) => random.Next(100) switch
    {
        < 50 => SoakPayment.Card,
        < 57 => SoakPayment.Declined,
        < 64 => SoakPayment.ThreeDSecure,
        < 66 => SoakPayment.ThreeDSecureFailed,
        < 73 => SoakPayment.HostedPage,
        < 75 => SoakPayment.HostedPageDeclined,
        < 82 => SoakPayment.Processing,
        < 91 => SoakPayment.TimeoutOnce,
        _ => SoakPayment.UnavailableTwice,
    };

    private static object CheckoutBody(string checkoutId, SoakPayment payment, IEnumerable<SoakOrderLine> lines)
    {
        object method = payment is SoakPayment.HostedPage or SoakPayment.HostedPageDeclined
            ? new { type = "hosted_page", return_url = "https://shop.example/return" }
            : new
            {
                type = "token",
                token = payment switch
                {
                    SoakPayment.Declined => "pm_card_chargeDeclined",
                    SoakPayment.ThreeDSecure or SoakPayment.ThreeDSecureFailed => "pm_card_authenticationRequired",
                    SoakPayment.Processing => "pm_sim_processing",
                    SoakPayment.TimeoutOnce => "pm_sim_timeout_once",
                    SoakPayment.UnavailableTwice => "pm_sim_unavailable_twice",
                    _ => "pm_card_visa",
                },
            };
        return new
        {
            checkout_id = checkoutId,
            buyer = new { id = $"buyer_{checkoutId}" },
            payment_method = method,
            orders = lines.Select(line => new
            {
                payment_order_id = line.PaymentOrderId,
                seller_account = line.Seller,
                amount = SoakJson.Major(line.AmountMinor),
                currency = "USD",
            }).ToArray(),
        };
    }
}
