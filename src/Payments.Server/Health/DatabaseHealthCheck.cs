using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Payments.Server.Health;

internal sealed class DatabaseHealthCheck(NpgsqlDataSource database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = database.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy("database reachable");
        }
        catch (NpgsqlException exception)
        {
            return HealthCheckResult.Unhealthy("database unreachable", exception);
        }
    }
}

internal sealed class ClusterHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            return hosts.Count > 0
                ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)")
                : HealthCheckResult.Unhealthy("no active silo");
        }
        catch (OrleansException exception)
        {
            return HealthCheckResult.Unhealthy("cluster unreachable", exception);
        }
    }
}
