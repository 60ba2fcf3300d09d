using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Payments.Server.Dashboard;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Deployment;

/// <summary>Settings the server gives Orleans and its dashboard that no public option carries as they come.</summary>
[Collection(ServerCollection.Name)]
public sealed class SiloSettingsTests(ServerFixture fixture)
{
    [Fact]
    public void The_dashboard_collects_the_orleans_instruments_at_the_counter_interval_not_every_second()
    {
        // The dashboard's internals: a version that renames them fails here instead of collecting every second unseen.
        Assert.NotNull(DashboardCollectInterval.HostType);
        Assert.NotNull(DashboardCollectInterval.IntervalProperty);

        var host = fixture.Server.Server.Services.GetRequiredService(DashboardCollectInterval.HostType!);

        Assert.Equal(10_000, DashboardCollectInterval.IntervalProperty!.GetValue(host));
    }

    [Fact]
    public void The_grain_directory_cache_is_bounded_near_the_live_activations()
    {
        var directory = fixture.Server.Server.Services.GetRequiredService<IOptions<GrainDirectoryOptions>>().Value;

        Assert.Equal(100_000, directory.CacheSize);
    }
}
