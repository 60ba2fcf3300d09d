using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

namespace Payments.Tests.BadInput;

/// <summary>
/// Everything a request could change, as counts: rows of every table that holds money or its records, every grain's stored
/// state (payment orders, checkouts, wallets, idempotency keys, payouts…) by count and summed version (any write bumps
/// it), and what the PSP simulator holds. Equal snapshots around refused requests mean they changed nothing.
/// </summary>
public static class StateSnapshot
{
    private static readonly string[] Tables =
    [
        "ledger_transactions", "ledger_entries", "events", "webhook_events", "webhook_endpoints", "webhook_deliveries",
        "payouts", "payout_schedules", "dead_letters", "reconciliation_runs", "reconciliation_breaks", "orleans_reminder",
    ];

    public static async Task<SortedDictionary<string, long>> TakeAsync(string connectionString, HttpClient psp)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var table in Tables)
        {
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
            counts[table] = (long)(await command.ExecuteScalarAsync())!;
        }

        await using (var grains = new NpgsqlCommand(
            "SELECT grain_type, count(*), coalesce(sum(version), 0) FROM orleans_grain_state GROUP BY grain_type", connection))
        await using (var reader = await grains.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                counts[$"grain:{reader.GetString(0)}:rows"] = reader.GetInt64(1);
                counts[$"grain:{reader.GetString(0)}:versions"] = reader.GetInt64(2);
            }
        }

        foreach (var list in new[] { "/_sim/payment_intents", "/_sim/payouts", "/_sim/events" })
        {
            var items = await psp.GetFromJsonAsync<JsonElement>(list);
            counts["psp:" + list] = items.GetArrayLength();
        }

        return counts;
    }

    /// <summary>The entries that differ, "name: before -> after", for an assertion message.</summary>
    public static string Difference(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after) =>
        string.Join(", ", before.Keys.Union(after.Keys).Order(StringComparer.Ordinal)
            .Where(name => before.GetValueOrDefault(name, -1) != after.GetValueOrDefault(name, -1))
            .Select(name => $"{name}: {before.GetValueOrDefault(name, -1)} -> {after.GetValueOrDefault(name, -1)}"));
}
