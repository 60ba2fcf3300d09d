using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Dashboard;

namespace Payments.Server.Dashboard;

/// <summary>
/// Makes the dashboard's metric reader collect at <c>Server:DashboardCounterInterval</c> instead of its fixed second.
/// </summary>
/// <remarks>
/// The dashboard (Microsoft.Orleans.Dashboard 10) builds its own OpenTelemetry meter provider over every Orleans
/// instrument and exports it every 1000 ms: an <c>internal init</c> property of its internal <c>DashboardHost</c>, which
/// no option reaches. Several of those instruments walk tables as large as the activations; a CPU profile of the bench
/// put the collection at 6 % of the server's CPU, and with the grain directory cache bounded as well a 100 000-order run
/// went from 3.14 to 2.71 ms of server CPU per order. We register the host ourselves, built the way the container would
/// build it, then given the interval. If a dashboard version renames either, nothing is replaced and the dashboard keeps
/// its own second; the test of this class fails, so an upgrade notices.
/// </remarks>
internal static class DashboardCollectInterval
{
    internal static readonly Type? HostType = typeof(DashboardOptions).Assembly.GetType("Orleans.Dashboard.DashboardHost");

    internal static readonly PropertyInfo? IntervalProperty =
        HostType?.GetProperty("ExportIntervalMilliseconds", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>Call after <c>AddDashboard</c>, with the interval its options were given (at least 1000 ms).</summary>
    public static void Apply(IServiceCollection services, int intervalMilliseconds)
    {
        if (HostType is not { } hostType || IntervalProperty is not { } property
            || !services.Any(service => service.ServiceType == hostType && service.ImplementationType == hostType))
        {
            return;
        }

        services.Replace(ServiceDescriptor.Singleton(hostType, provider =>
        {
            var host = ActivatorUtilities.CreateInstance(provider, hostType);
            property.SetValue(host, intervalMilliseconds);
            return host;
        }));
    }
}
