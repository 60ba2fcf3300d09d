using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Storage;
using Payments.Grains.Storage;

namespace Payments.Grains;

/// <summary>Names shared by the grains and the hosts that configure them.</summary>
public static class GrainStorage
{
    /// <summary>The grain storage on PostgreSQL that every payments grain persists to.</summary>
    public const string Name = "payments";

    /// <summary>
    /// Registers <see cref="Name"/> as the group-committing PostgreSQL storage. It needs the silo's
    /// <c>NpgsqlDataSource</c> in the container.
    /// </summary>
    public static IServiceCollection AddPaymentsGrainStorage(this IServiceCollection services)
    {
        services.TryAddSingleton<GrainStateQueues>();
        services.TryAddSingleton<GrainStateSerializer>();
        services.TryAddSingleton<AppliedOperations>();
        // What Orleans' AddGrainStorage does for a provider that takes part in no lifecycle: a keyed singleton.
        services.AddKeyedSingleton<IGrainStorage>(Name, (provider, _) => ActivatorUtilities.CreateInstance<PostgresGrainStorage>(provider));
        return services;
    }

    /// <summary>
    /// Registers the reminder table on PostgreSQL whose grain calls share the grain storage's round trips. The reminder
    /// service itself is added by the silo (<c>AddReminders</c>).
    /// </summary>
    public static IServiceCollection AddPaymentsReminderTable(this IServiceCollection services)
    {
        services.TryAddSingleton<GrainStateQueues>();
        services.AddSingleton<IReminderTable, PostgresReminderTable>();
        return services;
    }
}
