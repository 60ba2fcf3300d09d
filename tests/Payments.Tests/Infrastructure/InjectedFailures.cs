using Npgsql;

namespace Payments.Tests.Infrastructure;

/// <summary>
/// Real database failures on demand: a trigger that refuses certain writes until disposed. Used to show that
/// effects which fail are retried (and parked) and applied exactly once when the database takes them again.
/// </summary>
internal sealed class InjectedFailures : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly string _name;
    private readonly string _table;

    private InjectedFailures(string connectionString, string name, string table) => (_connectionString, _name, _table) = (connectionString, name, table);

    /// <summary>Refuses to book any ledger transaction of this payment order.</summary>
    public static Task<InjectedFailures> RejectLedgerBookingsAsync(string connectionString, string paymentOrderId) =>
        InstallAsync(connectionString, "ledger_transactions", "INSERT", $"NEW.payment_order_id = '{paymentOrderId}'", "injected ledger failure");

    /// <summary>
    /// Refuses to store the state of the grain whose string key ends with <paramref name="keySuffix"/> (only a state whose
    /// serialized payload contains <paramref name="payloadContains"/>, when given).
    /// </summary>
    public static Task<InjectedFailures> RejectGrainStateWritesAsync(string connectionString, string keySuffix, string? payloadContains = null) =>
        InstallAsync(connectionString, "orleans_grain_state", "INSERT OR UPDATE",
            $"NEW.grain_id_ext LIKE '%{keySuffix}'" + (payloadContains is null ? string.Empty : $" AND position(convert_to('{payloadContains}', 'UTF8') in NEW.payload) > 0"),
            "injected grain state failure");

    /// <summary>Refuses to clear (ClearStateAsync: the payload set to NULL) the state of the grain whose key ends with <paramref name="keySuffix"/>.</summary>
    public static Task<InjectedFailures> RejectGrainStateClearsAsync(string connectionString, string keySuffix) =>
        InstallAsync(connectionString, "orleans_grain_state", "UPDATE", $"NEW.grain_id_ext LIKE '%{keySuffix}' AND NEW.payload IS NULL", "injected grain state failure");

    public async ValueTask DisposeAsync() => await ExecuteAsync(_connectionString, $"DROP TRIGGER {_name} ON {_table}; DROP FUNCTION {_name}();");

    private static async Task<InjectedFailures> InstallAsync(string connectionString, string table, string events, string condition, string message)
    {
        var name = Ids.New("injected_failure");
        await ExecuteAsync(connectionString, $"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{message}'; END; $$;
            CREATE TRIGGER {name} BEFORE {events} ON {table}
                FOR EACH ROW WHEN ({condition}) EXECUTE FUNCTION {name}();
            """);
        return new InjectedFailures(connectionString, name, table);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
