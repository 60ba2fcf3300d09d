using Payments.LoadTest.Soak;
using Payments.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Payments.Tests.Cluster;

/// <summary>
/// The chaos soak runs alone, after the parallel collections: it is five processes on a two-core machine for minutes, and
/// another heavy test beside it would only measure the two fighting.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ChaosSoakCollection
{
    public const string Name = "chaos soak";
}

/// <summary>
/// The bench's chaos soak (<c>bench/Payments.LoadTest/Soak</c>), CI-sized: two minutes of checkouts (cards, declines,
/// 3-D Secure, hosted pages, processing, the simulator's failing tokens), refunds, fulfillments and payouts through the
/// gateway of three silo processes, with a merchant webhook endpoint, under PSP fault windows and a silo killed with
/// SIGKILL every 20 s. After the settle: nothing charged or paid out twice, nothing lost, the invariants hold, nothing
/// stuck, every order final, every webhook owed delivered; and the chaos really happened.
/// </summary>
[Collection(ChaosSoakCollection.Name)]
public sealed class ChaosSoakTests(ITestOutputHelper output)
{
    private const int Silos = 3;

    /// <summary>Four buyers: enough to keep every silo busy at each kill, few enough for two cores and five processes.</summary>
    private static readonly SoakSettings Settings = new(
        Duration: TimeSpan.FromMinutes(2),
        Workers: 4,
        Sellers: 8,
        KillEvery: TimeSpan.FromSeconds(20),
        SettleTimeout: TimeSpan.FromMinutes(3),
        KillsMin: 5);

    /// <summary>
    /// What the soak changes from the cluster's test settings: the merchant's endpoint is on loopback; a payout or payment
    /// whose webhook the simulator dropped asks the PSP within the settle (production waits an hour for a payout, a minute
    /// for a payment); a webhook prompt lost with a killed silo is swept up in seconds, not a minute.
    /// </summary>
    private static readonly string[] ClusterSettings =
    [
        "--Webhooks:AllowPrivateNetworks=true",
        "--Payouts:PspPollAfter=00:00:10",
        "--PaymentOrders:PspPollAfter=00:00:10",
        "--Webhooks:SweepPeriod=00:00:05",
    ];

    [Fact]
    public async Task Two_minutes_of_mixed_load_under_PSP_faults_and_silo_kills_charge_once_lose_nothing_and_settle()
    {
        await using var cluster = await ProcessCluster.StartAsync(Silos, ClusterSettings);
        try
        {
            var endpoints = new SoakEndpoints(cluster.GatewayAddress, cluster.PspAddress, ProcessCluster.MerchantKey, ProcessCluster.OperatorKey);
            var report = await SoakRun.RunAsync(new ProcessClusterControl(cluster), endpoints, Settings, output.WriteLine);

            // The chaos happened: not a pass for want of trying.
            Assert.True(report.Kills >= 4, $"only {report.Kills} silos were killed (restarts are slow on a loaded machine)");
            Assert.True(report.FaultWindows >= 4, $"only {report.FaultWindows} fault windows");
            Assert.True(report.Faults > 0, "the simulator made no fault that can be counted");
            Assert.True(report.Succeeded > 0 && report.Failed > 0 && report.RefundsSucceeded > 0 && report.PayoutsPaid > 0,
                $"the workload did not reach every path: {report.SummaryLine}");

            Assert.True(report.Settled, $"the system did not settle within {Settings.SettleBound}: {report.Details()}");
            Assert.Equal(0, report.DoubleCharges);
            Assert.Equal(0, report.DoublePayouts);
            Assert.Equal(0, report.Lost);
            Assert.Equal(0, report.Unbalanced);
            Assert.Equal(0, report.Stuck);
            Assert.Equal(report.Orders, report.Succeeded + report.Failed);
            Assert.Equal(0, report.WebhooksMissing);
            Assert.True(report.Passed, report.Details());
        }
        catch
        {
            output.WriteLine(cluster.LogTails());
            throw;
        }
    }

    /// <summary>The soak's cluster control over the test's processes: a SIGKILL, then the same silo again, a new generation.</summary>
    private sealed class ProcessClusterControl(ProcessCluster cluster) : ISoakCluster
    {
        public int Silos => cluster.Silos;

        public Task KillSiloAsync(int index)
        {
            cluster.KillSilo(index);
            return Task.CompletedTask;
        }

        public Task StartSiloAsync(int index) => cluster.StartSiloAsync(index);
    }
}
