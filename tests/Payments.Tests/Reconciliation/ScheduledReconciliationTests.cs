using System.Globalization;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Reconciliation;

/// <summary>Nobody asks: the reconcilers' reminder, registered when the silo starts, runs each source for the day before.</summary>
public sealed class ScheduledReconciliationTests
{
    [Fact]
    public async Task Each_source_is_reconciled_for_the_day_before_once_its_time_of_day_has_passed()
    {
        var dataDirectory = TestServer.NewDataDirectory();
        try
        {
            await using var server = await TestServer.StartAsync(dataDirectory, new Dictionary<string, string?>
            {
                ["Reconciliation:DailyRuns"] = "true",
                // Midnight has always passed: the first tick (a second after start) makes the runs.
                ["Reconciliation:RunTimeOfDay"] = "00:00:00",
                ["Reconciliation:TickPeriod"] = "00:00:01",
                ["Server:ReminderPeriodMin"] = "00:00:01",
            });
            using var operatorClient = server.CreateClient(TestServer.OperatorKey);
            var yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
            foreach (var source in new[] { "psp", "bank" })
            {
                var runId = $"recon_{source}_{yesterday.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}";
                var run = await Eventually.MatchesAsync(async () =>
                    {
                        using var response = await operatorClient.GetAsync($"/v1/reconciliation/runs/{runId}");
                        return response.IsSuccessStatusCode ? await response.JsonAsync() : (System.Text.Json.JsonElement?)null;
                    },
                    run => run is { } found && found.Str("status") != "RUNNING", TimeSpan.FromSeconds(60), $"the scheduled {source} run of {yesterday}");
                Assert.Equal(("SUCCEEDED", source, "scheduled", yesterday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), 0L),
                    (run!.Value.Str("status"), run.Value.Str("source"), run.Value.Str("origin"), run.Value.Str("date"), run.Value.GetProperty("lines").GetInt64()));
            }
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
