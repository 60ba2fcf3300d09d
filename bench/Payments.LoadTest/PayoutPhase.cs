using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Payments.LoadTest;

/// <summary>
/// After a measured pay-in: fulfills every order that was paid in, pays each seller its whole available
/// balance, waits until every payout is PAID, and checks that each wallet ends paid out to the cent.
/// </summary>
internal static class PayoutPhase
{
    /// <summary>The simulator pays <c>ba_sim_ok</c> about 2 s after creation; this leaves room for a slow webhook and a lookup.</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Between polls of the payouts not yet final: the resolution of "time until all PAID", and little load on the server.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Bounds the poll loop by count as well as by time, whatever the server answers.</summary>
    private const int PollRoundsMax = 600;

    /// <summary>Error samples printed for the whole wait, not per poll round.</summary>
    private const int SamplesMax = 5;

    private const string Destination = "ba_sim_ok";
    private const string Currency = "USD";
    private static readonly byte[] EmptyObject = "{}"u8.ToArray();

    public static async Task<PayoutResult> RunAsync(HttpClient http, LoadTestOptions options, SellerSet sellers, string runId, PayInResult payIn)
    {
        // Only checkouts that SUCCEEDED: the others' orders may not be SUCCESS, and fulfillment would rightly refuse them (409).
        var orders = new List<(string PaymentOrderId, int Seller)>();
        var paidInMinor = new long[sellers.Count];
        for (var i = 0; i < payIn.Succeeded.Length; i++)
        {
            for (var k = 0; payIn.Succeeded[i] && k < options.OrdersPerCheckout; k++)
            {
                var seller = sellers.SellerOf(i, k);
                orders.Add((PayInPhase.PaymentOrderId(runId, i, k), seller));
                paidInMinor[seller] += PayInPhase.OrderAmountMinor(i, k);
            }
        }

        // A seller no order went to has no wallet: its payout settings would answer 404, its payout 422.
        int[] paidSellers = [.. Enumerable.Range(0, sellers.Count).Where(s => paidInMinor[s] > 0)];
        Console.WriteLine($"payout phase:       {orders.Count} orders to fulfill, {paidSellers.Length} sellers to pay out");
        if (orders.Count == 0)
        {
            return new PayoutResult(false, 0, 0, 0);
        }

        var fulfilled = await FulfillAsync(http, options, runId, orders);
        var settingsOk = await SetPayoutSettingsAsync(http, options, sellers, paidSellers);

        var payoutsStartedAt = DateTimeOffset.UtcNow;
        var payoutClock = Stopwatch.StartNew();
        var (payouts, createdInOrder) = await CreatePayoutsAsync(http, options, sellers, runId, paidSellers, paidInMinor);
        var settled = await WaitUntilPaidAsync(http, runId, createdInOrder, payoutClock, payoutsStartedAt);
        var walletsOk = await CheckWalletsAsync(http, options, sellers, paidSellers, paidInMinor);

        var fulfillmentsPerSecond = fulfilled.PerSecond(fulfilled.Count - fulfilled.Failed);
        var payoutsPerSecond = payouts.PerSecond(payouts.StatusCounts.GetValueOrDefault(201));
        var settledPerSecond = settled.AllPaid ? createdInOrder.Length / settled.UntilAllPaid.TotalSeconds : 0;
        var passed = fulfilled.Failed == 0 && settingsOk && payouts.Failed == 0 && createdInOrder.Length == paidSellers.Length
            && settled.AllPaid && walletsOk;
        return new PayoutResult(passed, fulfillmentsPerSecond, payoutsPerSecond, settledPerSecond);
    }

    private static async Task<RequestBatch> FulfillAsync(HttpClient http, LoadTestOptions options, string runId, List<(string PaymentOrderId, int Seller)> orders)
    {
        var batch = await ConcurrentRequests.RunAsync(http, orders.Count, options.Concurrency,
            i => ConcurrentRequests.Json(HttpMethod.Post, $"v1/payments/{orders[i].PaymentOrderId}/fulfillment", EmptyObject, $"lt{runId}-fulfill-{i}"),
            (i, status, body) => status == 200 && HasValue(body, "fulfilled_at")
                ? null
                : $"{orders[i].PaymentOrderId}: {ConcurrentRequests.Unexpected(status, body)}");

        Console.WriteLine($"fulfillments:       {batch.Count - batch.Failed} of {batch.Count} in {batch.Elapsed.TotalSeconds:F2} s, "
            + $"{batch.PerSecond(batch.Count - batch.Failed):F1} fulfillments/s");
        PrintBatch("fulfill", batch);
        return batch;
    }

    private static async Task<bool> SetPayoutSettingsAsync(HttpClient http, LoadTestOptions options, SellerSet sellers, int[] paidSellers)
    {
        var body = JsonBody(json =>
        {
            json.WriteString("destination", Destination);
            json.WriteString("interval", "manual");
        });
        var batch = await ConcurrentRequests.RunAsync(http, paidSellers.Length, options.Concurrency,
            // A PUT: the API asks no Idempotency-Key for it, the PUT itself is idempotent.
            i => ConcurrentRequests.Json(HttpMethod.Put, $"v1/sellers/{sellers.Account(paidSellers[i])}/payout_settings", body, idempotencyKey: null),
            (i, status, answer) => status == 200 ? null : $"{sellers.Account(paidSellers[i])}: {ConcurrentRequests.Unexpected(status, answer)}");

        Console.WriteLine($"payout settings:    {batch.Count} sellers in {batch.Elapsed.TotalSeconds:F2} s, {batch.Statuses()}");
        PrintSamples(batch.ErrorSamples);
        return batch.Failed == 0;
    }

    /// <summary>
    /// One payout per seller, amount omitted: the server pays all that is available, which must be all that was paid in.
    /// Also returns the sellers whose payout was created, in the order the 201s came back, which is about the order they are paid in.
    /// </summary>
    private static async Task<(RequestBatch Batch, int[] CreatedInOrder)> CreatePayoutsAsync(
        HttpClient http, LoadTestOptions options, SellerSet sellers, string runId, int[] paidSellers, long[] paidInMinor)
    {
        var createdInOrder = new ConcurrentQueue<int>();
        var batch = await ConcurrentRequests.RunAsync(http, paidSellers.Length, options.Concurrency,
            i => ConcurrentRequests.Json(HttpMethod.Post, "v1/payouts", JsonBody(json =>
            {
                json.WriteString("payout_id", PayoutId(runId, paidSellers[i]));
                json.WriteString("seller_account", sellers.Account(paidSellers[i]));
                json.WriteString("currency", Currency);
            }), $"lt{runId}-payout-{paidSellers[i]}"),
            (i, status, body) =>
            {
                var payoutId = PayoutId(runId, paidSellers[i]);
                if (status != 201)
                {
                    return $"{payoutId}: {ConcurrentRequests.Unexpected(status, body)}";
                }

                createdInOrder.Enqueue(paidSellers[i]);
                var payoutStatus = PayInPhase.ReadString(body, "status");
                var amount = PayInPhase.ReadString(body, "amount");
                var expected = PayInPhase.FormatUsd(paidInMinor[paidSellers[i]]);
                return payoutStatus is "PENDING" or "IN_TRANSIT" or "PAID" && amount == expected
                    ? null
                    : $"{payoutId}: 201 with status {payoutStatus ?? "(none)"}, amount {amount ?? "(none)"}, expected {expected} paid in";
            });

        var created = batch.StatusCounts.GetValueOrDefault(201);
        Console.WriteLine($"payouts created:    {created} of {batch.Count} (201) in {batch.Elapsed.TotalSeconds:F2} s, {batch.PerSecond(created):F1} payouts/s");
        PrintBatch("payout", batch);
        return (batch, [.. createdInOrder]);
    }

    /// <summary>
    /// Polls the payouts not yet final until each is PAID or FAILED, bounded by <see cref="SettleTimeout"/> and
    /// <see cref="PollRoundsMax"/>. The time reported runs from the first payout POST to the poll that saw the last PAID.
    /// </summary>
    /// <remarks>
    /// Each round walks the open payouts one GET at a time in the order they were created, which is about the order
    /// the simulator pays them (~2 s after creation, its webhooks one at a time), and stops at the first one not final
    /// yet: those behind it are most likely not final either, and are asked in a later round. Polling every open
    /// payout each round took 2852 GETs for 200 payouts and competed on the server with the webhooks being measured.
    /// </remarks>
    private static async Task<SettleResult> WaitUntilPaidAsync(
        HttpClient http, string runId, int[] createdInOrder, Stopwatch payoutClock, DateTimeOffset payoutsStartedAt)
    {
        var open = new Queue<int>(createdInOrder);
        var failed = new List<string>();
        var unexpected = new List<string>();
        DateTimeOffset? lastPaidAt = null;
        var polls = 0;
        for (var round = 0; open.Count > 0 && round < PollRoundsMax && payoutClock.Elapsed < SettleTimeout; round++)
        {
            while (open.TryPeek(out var seller))
            {
                var payoutId = PayoutId(runId, seller);
                polls++;
                var (status, body, noAnswer) = await GetAsync(http, $"v1/payouts/{payoutId}");
                var payoutStatus = status == 200 ? PayInPhase.ReadString(body, "status") : null;
                if (payoutStatus is not ("PAID" or "FAILED"))
                {
                    if (payoutStatus is not ("PENDING" or "IN_TRANSIT") && unexpected.Count < SamplesMax)
                    {
                        unexpected.Add($"{payoutId}: {noAnswer ?? ConcurrentRequests.Unexpected(status, body)}");
                    }

                    // Not final yet (or unreadable: asked again next round); the rest of the round would mostly be wasted GETs.
                    break;
                }

                open.Dequeue();
                if (payoutStatus == "FAILED")
                {
                    failed.Add($"{payoutId}: FAILED {ConcurrentRequests.Truncate(Encoding.UTF8.GetString(body))}");
                }
                else if (PaidAt(body) is { } at && (lastPaidAt is null || at > lastPaidAt))
                {
                    lastPaidAt = at;
                }
            }

            if (open.Count > 0)
            {
                await Task.Delay(PollInterval);
            }
        }

        var untilAllPaid = payoutClock.Elapsed;
        var allPaid = open.Count == 0 && failed.Count == 0;
        if (allPaid)
        {
            var serverSide = lastPaidAt is { } last ? $"; the last PAID in its history at +{(last - payoutsStartedAt).TotalSeconds:F2} s" : "";
            Console.WriteLine($"all PAID after:     {untilAllPaid.TotalSeconds:F2} s from the first payout POST, "
                + $"{createdInOrder.Length / untilAllPaid.TotalSeconds:F1} payouts settled/s (polled every {PollInterval.TotalMilliseconds:F0} ms{serverSide})");
        }
        else
        {
            var paid = createdInOrder.Length - open.Count - failed.Count;
            Console.WriteLine($"NOT all PAID:       {paid} PAID, {failed.Count} FAILED, {open.Count} still open after {untilAllPaid.TotalSeconds:F2} s");
        }

        Console.WriteLine($"payout polls:       {polls} GETs");
        PrintSamples([.. failed.Take(SamplesMax), .. unexpected]);
        return new SettleResult(allPaid, untilAllPaid);
    }

    /// <summary>One GET; a request that got no answer gives status 0 and says why.</summary>
    private static async Task<(int Status, byte[] Body, string? NoAnswer)> GetAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(), null);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return (0, [], $"0: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>Each seller ends with nothing pending, available or reserved, and everything it was paid in paid out.</summary>
    private static async Task<bool> CheckWalletsAsync(HttpClient http, LoadTestOptions options, SellerSet sellers, int[] paidSellers, long[] paidInMinor)
    {
        var batch = await ConcurrentRequests.RunAsync(http, paidSellers.Length, options.Concurrency,
            i => new HttpRequestMessage(HttpMethod.Get, $"v1/sellers/{sellers.Account(paidSellers[i])}/wallet"),
            (i, status, body) =>
            {
                var account = sellers.Account(paidSellers[i]);
                if (status != 200 || UsdBalance(body) is not { } balance)
                {
                    return $"{account}: {ConcurrentRequests.Unexpected(status, body)}";
                }

                var expected = PayInPhase.FormatUsd(paidInMinor[paidSellers[i]]);
                var ok = IsZero(balance, "pending") && IsZero(balance, "available") && IsZero(balance, "reserved")
                    && SameAmount(balance, "paid_out", expected);
                return ok ? null : $"{account}: {balance.GetRawText()}, expected paid_out {expected}";
            });

        Console.WriteLine($"wallets:            {batch.Count - batch.Failed} of {batch.Count} sellers with pending/available/reserved 0.00 "
            + "and paid_out = paid in");
        PrintSamples(batch.ErrorSamples);
        return batch.Failed == 0;
    }

    private static string PayoutId(string runId, int seller) => $"pay_lt{runId}_{seller}";

    private static byte[] JsonBody(Action<Utf8JsonWriter> writeProperties)
    {
        using var buffer = new MemoryStream(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            writeProperties(json);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static bool HasValue(byte[] body, string property) => PayInPhase.ReadString(body, property) is { Length: > 0 };

    /// <summary>The time of the PAID entry in the payout's history, the server's own clock.</summary>
    private static DateTimeOffset? PaidAt(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (!doc.RootElement.TryGetProperty("history", out var history) || history.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            foreach (var entry in history.EnumerateArray())
            {
                if (entry.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String && s.GetString() == "PAID"
                    && entry.TryGetProperty("at", out var at) && at.ValueKind == JsonValueKind.String
                    && DateTimeOffset.TryParse(at.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
                {
                    return time;
                }
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The wallet's USD balance object (cloned out of the parsed document), or null when it has none.</summary>
    private static JsonElement? UsdBalance(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (!doc.RootElement.TryGetProperty("balances", out var balances) || balances.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            foreach (var balance in balances.EnumerateArray())
            {
                if (balance.TryGetProperty("currency", out var c) && c.ValueKind == JsonValueKind.String && c.GetString() == Currency)
                {
                    return balance.Clone();
                }
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsZero(JsonElement balance, string bucket) => SameAmount(balance, bucket, "0.00");

    /// <summary>Money is a decimal string with exactly the currency's decimals, so equal amounts are equal strings.</summary>
    private static bool SameAmount(JsonElement balance, string bucket, string expected) =>
        balance.TryGetProperty(bucket, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() == expected;

    private static void PrintBatch(string name, RequestBatch batch)
    {
        Console.WriteLine($"{name + " latency ms:",-20}{batch.Latency()}");
        Console.WriteLine($"{name + " status:",-20}{batch.Statuses()}");
        PrintSamples(batch.ErrorSamples);
    }

    private static void PrintSamples(string[] samples)
    {
        foreach (var sample in samples)
        {
            Console.WriteLine($"  sample: {sample}");
        }
    }

    private sealed record SettleResult(bool AllPaid, TimeSpan UntilAllPaid);
}

/// <summary>The payout phase's verdict and rates; a rate is 0 when nothing got that far.</summary>
internal sealed record PayoutResult(bool Passed, double FulfillmentsPerSecond, double PayoutsPerSecond, double SettledPerSecond);
