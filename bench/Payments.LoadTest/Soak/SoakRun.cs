using System.Diagnostics;
using System.Globalization;

namespace Payments.LoadTest.Soak;

/// <summary>
/// One chaos soak, the same for the bench (<c>--soak-minutes</c>) and the test: a merchant webhook endpoint registered,
/// the workload for <see cref="SoakSettings.Duration"/> under PSP fault windows and a silo killed every
/// <see cref="SoakSettings.KillInterval"/>; then the faults off, the settle, and the checks.
/// </summary>
internal static class SoakRun
{
    public static async Task<SoakReport> RunAsync(ISoakCluster cluster, SoakEndpoints endpoints, SoakSettings settings, Action<string> log)
    {
        // A run's ids are its own, so the checks read only this run's orders, payouts and events.
        var runId = DateTime.UtcNow.ToString("MMddHHmmss", CultureInfo.InvariantCulture) + Guid.NewGuid().ToString("N")[..4];
        var counters = new SoakCounters();
        using var merchant = new SoakHttp(endpoints.Gateway, endpoints.MerchantKey, counters);
        using var operators = new SoakHttp(endpoints.Gateway, endpoints.OperatorKey, counters);
        using var psp = new SoakHttp(endpoints.Psp, null, counters);
        await using var receiver = await SoakWebhookReceiver.StartAsync();
        var endpoint = await merchant.PutAsync("/v1/webhook_endpoint", new { url = receiver.Url.ToString(), events = new[] { "*" } });
        receiver.Secret = SoakJson.Text(endpoint.Body, "secret")
            ?? throw new InvalidOperationException($"PUT /v1/webhook_endpoint answered {endpoint.Status}: {endpoint.Body}");
        log($"soak {runId}: {settings.Duration.TotalMinutes:F1} min, {settings.Workers} buyers, {settings.Sellers} sellers, "
            + $"{cluster.Silos} silos (one killed every {settings.KillInterval.TotalSeconds:F0} s), fault windows {settings.FaultWindow.TotalSeconds:F0} s "
            + $"on / {settings.FaultQuiet.TotalSeconds:F0} s off, webhooks to {receiver.Url}");

        var record = new SoakRecord(runId);
        var workload = new SoakWorkload(merchant, psp, record, settings);
        var chaos = new SoakChaos(cluster, psp, settings, log);
        var clock = Stopwatch.StartNew();
        using (var stop = new CancellationTokenSource())
        {
            var kills = chaos.KillLoopAsync(stop.Token);
            var faults = chaos.FaultLoopAsync(stop.Token);
            var work = workload.RunAsync(stop.Token);
            await Task.Delay(settings.Duration);
            while (chaos.Kills < settings.KillsMin && clock.Elapsed < settings.Duration * 3 && !kills.IsCompleted)
            {
                // The workload's clock: look again in a second whether the kills the soak needs have happened.
                await Task.Delay(TimeSpan.FromSeconds(1));
            }

            await stop.CancelAsync();
            await Task.WhenAll(work, kills, faults);
        }

        var report = new SoakReport { Duration = clock.Elapsed, Kills = chaos.Kills, FaultWindows = chaos.FaultWindows };
        chaos.PrintSummary();
        log($"workload done after {clock.Elapsed.TotalSeconds:F0} s: {record.Checkouts.Count} checkouts accepted, refused {Counts(record.CheckoutsRefused)}; "
            + $"refunds answered {Counts(record.RefundAnswers)}, fulfillments {Counts(record.FulfillmentAnswers)}, {record.Payouts.Count} payouts created, "
            + $"refused {Counts(record.PayoutRefusals)}");

        // The faults are off (the fault loop's last word), every silo is up (the kill loop restarts before it ends).
        var settle = new SoakSettle(merchant, operators, psp, record, workload, receiver, log);
        var settling = Stopwatch.StartNew();
        report.Settled = await settle.RunAsync(settings.SettleBound);
        report.Settle = settling.Elapsed;
        await new SoakChecks(merchant, operators, psp, record, settle, receiver).RunAsync(report);
        report.Requests = counters.Requests;
        report.ClientRetries = counters.Retries;
        report.Status500 = counters.Status500;
        report.Status503 = counters.Status503;
        report.RetriedStatuses = counters.RetriedStatuses;
        log(report.Details());
        return report;
    }

    private static string Counts<TKey>(IEnumerable<KeyValuePair<TKey, int>> counts) where TKey : notnull
    {
        var text = string.Join(", ", counts.OrderBy(pair => pair.Key).Select(pair => $"{pair.Key} x {pair.Value}"));
        return text.Length == 0 ? "none" : text;
    }
}
