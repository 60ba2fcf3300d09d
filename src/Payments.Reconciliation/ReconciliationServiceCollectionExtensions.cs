using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Payments.Reconciliation.Runs;

namespace Payments.Reconciliation;

public static class ReconciliationServiceCollectionExtensions
{
    /// <summary>
    /// The reconciliation options (section <c>Reconciliation</c>, validated at start) and the stores of runs and breaks;
    /// needs an <see cref="Npgsql.NpgsqlDataSource"/>. Safe to call from both the silo's and the gateway's set-up.
    /// </summary>
    public static IServiceCollection AddReconciliationStores(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(service => service.ServiceType == typeof(ReconciliationRunStore)))
        {
            return services;
        }

        services.AddOptions<ReconciliationOptions>().Bind(configuration.GetSection(ReconciliationOptions.SectionName)).ValidateDataAnnotations()
            .Validate(options => options.TickPeriod > TimeSpan.Zero && options.SettlementLag >= TimeSpan.Zero && options.BankLag >= TimeSpan.Zero && options.LookBack >= TimeSpan.Zero
                && options.IdleTransactionTimeout > TimeSpan.Zero && options.RunTimeOfDay >= TimeSpan.Zero && options.RunTimeOfDay < TimeSpan.FromDays(1)
                && options.UploadBytesMax > 0,
                "Reconciliation: TickPeriod, IdleTransactionTimeout and UploadBytesMax must be positive, SettlementLag and LookBack not negative, RunTimeOfDay within a day.")
            .ValidateOnStart();
        services.TryAddSingleton<ReconciliationRunStore>();
        services.TryAddSingleton<ReconciliationBreakStore>();
        return services;
    }
}
