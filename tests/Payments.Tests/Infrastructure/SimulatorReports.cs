using System.Text;
using Stripe;
using Stripe.Reporting;

namespace Payments.Tests.Infrastructure;

/// <summary>The simulator's itemized settlement report, fetched the way a Stripe client does: run, polled, downloaded.</summary>
internal static class SimulatorReports
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static StripeClient StripeAt(Uri baseUrl)
    {
        var root = baseUrl.ToString().TrimEnd('/');
        return new StripeClient(new StripeClientOptions { ApiKey = "sk_test_settlement", ApiBase = root, FilesBase = root });
    }

    /// <summary>The itemized report of <paramref name="days"/> UTC days from <paramref name="from"/>: run, polled, downloaded.</summary>
    public static async Task<(string Header, List<Dictionary<string, string>> Rows)> ItemizedAsync(StripeClient stripe, DateOnly from, int days)
    {
        var service = new ReportRunService(stripe);
        var start = from.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var run = await service.CreateAsync(new ReportRunCreateOptions
        {
            ReportType = "payout_reconciliation.itemized.5",
            Parameters = new ReportRunParametersOptions { IntervalStart = start, IntervalEnd = start.AddDays(days) },
        });
        Assert.StartsWith("frrun_", run.Id, StringComparison.Ordinal);
        run = await Eventually.MatchesAsync(() => service.GetAsync(run.Id), found => found.Status == "succeeded", Patience, "the report run to succeed");
        Assert.Equal("csv", run.Result.Type);

        // Stripe.net has no download call: the file's url is fetched with the API key, here through the client's own base.
        await using var stream = await stripe.RequestStreamingAsync(HttpMethod.Get, new Uri(run.Result.Url).AbsolutePath, null, null);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        Assert.Equal(run.Result.Size, Encoding.UTF8.GetByteCount(text));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var columns = lines[0].Split(',');
        var rows = lines.Skip(1)
            .Select(line => line.Split(',').Select((value, i) => (columns[i], value)).ToDictionary(pair => pair.Item1, pair => pair.value, StringComparer.Ordinal))
            .ToList();
        return (lines[0], rows);
    }

}
