using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using Payments.Api;

namespace Payments.Server.Cluster;

/// <summary>The failover settings (<see cref="FailoverOptions"/>, section <c>Failover</c>) applied to silos and to the gateway.</summary>
public static class FailoverHosting
{
    /// <summary>A standalone silo: fast death detection, and calls between silos that time out after a PSP call could.</summary>
    public static ISiloBuilder ConfigureFailover(this ISiloBuilder silo)
    {
        var failover = Read(silo.Configuration);
        silo.Configure<ClusterMembershipOptions>(membership =>
        {
            membership.ProbeTimeout = failover.ProbeTimeout;
            membership.NumMissedProbesLimit = failover.MissedProbesLimit;
            membership.NumVotesForDeathDeclaration = failover.VotesForDeathDeclaration;
        });
        silo.Configure<SiloMessagingOptions>(messaging => messaging.ResponseTimeout = failover.SiloResponseTimeout);
        return silo;
    }

    /// <summary>The gateway: calls that time out soon after the synchronous window, and retried while the cluster heals.</summary>
    public static IClientBuilder ConfigureFailover(this IClientBuilder client)
    {
        var failover = Read(client.Configuration);
        var window = (client.Configuration.GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new ApiOptions()).SynchronousWindow;
        client.Services.AddOptions<FailoverOptions>().Bind(client.Configuration.GetSection(FailoverOptions.SectionName));
        client.Configure<ClientMessagingOptions>(messaging => messaging.ResponseTimeout = window + failover.GatewayResponseMargin);
        client.Configure<GatewayOptions>(gateways => gateways.GatewayListRefreshPeriod = failover.GatewayListRefreshPeriod);
        client.Services.AddSingleton<ClusterFailureSignal>();
        client.AddOutgoingGrainCallFilter<ClusterCallRetryFilter>();
        // A killed silo's gateway connection closes at once: the first sign of its death, before any call is refused, and
        // one that calls sent through it (whose answers died with it) would otherwise never see.
        client.AddGatewayCountChangedHandler(services =>
        {
            var failures = services.GetRequiredService<ClusterFailureSignal>();
            return (_, change) =>
            {
                if (change.NumberOfConnectedGateways < change.PreviousNumberOfConnectedGateways)
                {
                    failures.Raise();
                }
            };
        });
        return client;
    }

    private static FailoverOptions Read(IConfiguration configuration) =>
        configuration.GetSection(FailoverOptions.SectionName).Get<FailoverOptions>() ?? new FailoverOptions();
}
