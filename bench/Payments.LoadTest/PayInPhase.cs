using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Payments.LoadTest;

/// <summary>The sellers a phase pays: <see cref="Count"/> accounts named <see cref="Prefix"/> plus a number.</summary>
internal sealed record SellerSet(string Prefix, int Count)
{
    public string Account(int seller) => $"{Prefix}{seller}";

    /// <summary>Order k of checkout i goes to seller (i + k) mod Count: the K orders of a checkout go to K different sellers.</summary>
    public int SellerOf(int checkout, int order) => (checkout + order) % Count;
}

/// <summary>
/// Sends <c>POST /v1/payments</c> checkouts from the configured number of workers and judges each one:
/// accepted (201, or 202 and finished later) and SUCCEEDED.
/// </summary>
internal static class PayInPhase
{
    /// <summary>How long checkouts answered 202 may take to finish before they count as failed.</summary>
    private static readonly TimeSpan FinishingLaterTimeout = TimeSpan.FromMinutes(2);
    private const int ErrorSamplesMax = 5;

    /// <param name="checkoutDone">Told each checkout's index once its answer is judged (one answered 202 counts as done then, though it finishes later).</param>
    public static async Task<PayInResult> RunAsync(
        HttpClient http, LoadTestOptions options, SellerSet sellers, string idPrefix, int count, Action<int>? checkoutDone = null)
    {
        var succeeded = new bool[count];
        var finishingLater = new ConcurrentQueue<int>();
        // One Idempotency-Key per checkout (the run id makes it new to the server), so one sent again after a 503 replays.
        var batch = await ConcurrentRequests.RunAsync(http, count, options.Concurrency,
            i => ConcurrentRequests.Json(HttpMethod.Post, "v1/payments", CheckoutBody(options, sellers, idPrefix, i), $"{idPrefix}-{i}"),
            (i, status, body) =>
            {
                if (status is not (201 or 202))
                {
                    return ConcurrentRequests.Unexpected(status, body);
                }

                if (status == 202)
                {
                    // Accepted, still working (a PSP retry outlasted the synchronous window): judged once it is done.
                    finishingLater.Enqueue(i);
                    return null;
                }

                var checkoutStatus = ReadString(body, "status");
                succeeded[i] = checkoutStatus == "SUCCEEDED";
                return succeeded[i] ? null : $"{status}: checkout status {checkoutStatus ?? "(none)"}";
            },
            checkoutDone);

        var errorSamples = new List<string>(batch.ErrorSamples);
        var notSucceededLater = await JudgeWhenDoneAsync(http, idPrefix, finishingLater, succeeded, errorSamples);
        return new PayInResult(batch, batch.Failed + notSucceededLater, [.. errorSamples], succeeded);
    }

    public static string PaymentOrderId(string idPrefix, int checkout, int order) => $"po_lt{idPrefix}_{checkout}_{order}";

    /// <summary>Varied but deterministic amounts from 1.00 to 999.99 USD, so the payout phase can tell what each seller was paid.</summary>
    public static long OrderAmountMinor(int checkout, int order) => 100 + ((((long)checkout * 37) + (order * 101)) % 99_900);

    public static string FormatUsd(long minor) => string.Create(CultureInfo.InvariantCulture, $"{minor / 100}.{minor % 100:D2}");

    /// <summary>The JSON body of checkout <paramref name="index"/>: K orders, each to another seller.</summary>
    private static byte[] CheckoutBody(LoadTestOptions options, SellerSet sellers, string idPrefix, int index)
    {
        using var buffer = new MemoryStream(256 + (options.OrdersPerCheckout * 128));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("checkout_id", CheckoutId(idPrefix, index));
            json.WriteStartObject("buyer");
            json.WriteString("id", $"buyer_bench_{index % 100}");
            json.WriteString("email", "bench@example.com");
            json.WriteEndObject();
            json.WriteStartObject("payment_method");
            json.WriteString("type", "token");
            json.WriteString("token", options.Token);
            json.WriteEndObject();
            json.WriteStartArray("orders");
            for (var k = 0; k < options.OrdersPerCheckout; k++)
            {
                json.WriteStartObject();
                json.WriteString("payment_order_id", PaymentOrderId(idPrefix, index, k));
                json.WriteString("seller_account", sellers.Account(sellers.SellerOf(index, k)));
                json.WriteString("amount", FormatUsd(OrderAmountMinor(index, k)));
                json.WriteString("currency", "USD");
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static string CheckoutId(string idPrefix, int index) => $"chk_lt{idPrefix}_{index}";

    /// <summary>
    /// Waits (bounded) for checkouts answered 202 to finish, marks those that ended SUCCEEDED, and counts the others.
    /// One at a time: they are rare (a PSP retry outlasting the window), and the wait is for the server, not for us.
    /// </summary>
    private static async Task<int> JudgeWhenDoneAsync(
        HttpClient http, string idPrefix, IEnumerable<int> checkouts, bool[] succeeded, List<string> errorSamples)
    {
        var deadline = Stopwatch.StartNew();
        var notSucceeded = 0;
        foreach (var index in checkouts)
        {
            var checkoutId = CheckoutId(idPrefix, index);
            string? status = null;
            for (var poll = 0; deadline.Elapsed < FinishingLaterTimeout; poll++)
            {
                using var response = await http.GetAsync($"v1/checkouts/{checkoutId}");
                var body = await response.Content.ReadAsByteArrayAsync();
                status = ReadString(body, "status");
                if (status is "SUCCEEDED" or "FAILED" or "PARTIALLY_FAILED")
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50 * (poll + 1), 1000)));
            }

            succeeded[index] = status == "SUCCEEDED";
            if (!succeeded[index])
            {
                notSucceeded++;
                if (errorSamples.Count < ErrorSamplesMax)
                {
                    errorSamples.Add($"202 then {status ?? "(none)"}: {checkoutId}");
                }
            }
        }

        return notSucceeded;
    }

    /// <summary>A top-level string property of a JSON body; null when the body is not JSON or lacks it.</summary>
    public static string? ReadString(byte[] body, string property)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static void Print(LoadTestOptions options, PayInResult result)
    {
        var batch = result.Batch;
        var seconds = batch.Elapsed.TotalSeconds;
        var orders = (long)batch.Count * options.OrdersPerCheckout;

        Console.WriteLine($"checkouts sent:     {batch.Count}");
        Console.WriteLine($"orders:             {orders}");
        Console.WriteLine($"elapsed:            {seconds:F2} s");
        Console.WriteLine($"throughput:         {orders / seconds:F1} orders/s, {batch.Count / seconds:F1} checkouts/s");
        Console.WriteLine($"latency ms:         {batch.Latency()}");
        Console.WriteLine($"http status:        {batch.Statuses()}");
        Console.WriteLine($"not SUCCEEDED:      {result.NotSucceeded} (checkouts answered 202 are judged once they finish)");
        foreach (var sample in result.ErrorSamples)
        {
            Console.WriteLine($"  sample: {sample}");
        }
    }
}

/// <summary>A pay-in phase: its batch, how many checkouts did not end SUCCEEDED, and which did.</summary>
internal sealed record PayInResult(RequestBatch Batch, int NotSucceeded, string[] ErrorSamples, bool[] Succeeded)
{
    /// <summary>Every checkout accepted in the end (201, or 202 and finished later; a 503 may come first) and SUCCEEDED.</summary>
    public bool Passed =>
        Batch.Failed == 0 && NotSucceeded == 0;
}
