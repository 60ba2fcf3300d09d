using Npgsql;
using NpgsqlTypes;

namespace Payments.Api.Payouts;

public sealed record ScheduledSellerRow(string SellerAccount, string MerchantId);

/// <summary>Read-side SQL for payouts: a seller's payouts newest first, the sellers paid on a schedule, and the payouts that owe work.</summary>
public sealed class PayoutQueries(NpgsqlDataSource database)
{
    public const int PageMax = 100;
    public const int ScheduledSellersMax = 100_000;
    public const int UnfinishedMax = 1000;

    /// <summary>
    /// Payout ids of a seller, newest first, after <paramref name="startingAfter"/> (itself a payout id of the seller), at most
    /// <paramref name="limit"/> + 1 (the extra one tells whether there are more).
    /// </summary>
    public async Task<IReadOnlyList<string>> SellerPayoutIdsAsync(string sellerAccount, string? startingAfter, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT p.payout_id FROM payouts p
            WHERE p.seller_account = $1
              AND ($2::text IS NULL OR (p.created_at, p.payout_id) < (SELECT c.created_at, c.payout_id FROM payouts c WHERE c.payout_id = $2 AND c.seller_account = $1))
            ORDER BY p.created_at DESC, p.payout_id DESC
            LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = sellerAccount });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)startingAfter ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        return await ReadStringsAsync(command, cancellationToken);
    }

    /// <summary>True when <paramref name="payoutId"/> is one of the seller's payouts (a page may only start after one).</summary>
    public async Task<bool> IsSellerPayoutAsync(string sellerAccount, string payoutId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT 1 FROM payouts WHERE payout_id = $1 AND seller_account = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = payoutId });
        command.Parameters.Add(new NpgsqlParameter { Value = sellerAccount });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<IReadOnlyList<ScheduledSellerRow>> ScheduledSellersAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"SELECT seller_account, merchant_id FROM payout_schedules ORDER BY seller_account LIMIT {ScheduledSellersMax}");
        var rows = new List<ScheduledSellerRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ScheduledSellerRow(reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    /// <summary>
    /// Every payout that still has work owed (not final, or bookings not applied, or parked): exactly the payouts holding
    /// the durable "drive" reminder, which a payout drops once it is done.
    /// </summary>
    public async Task<IReadOnlyList<string>> PayoutsWithWorkOwedAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT DISTINCT substring(grain_id FROM position('/' IN grain_id) + 1)
            FROM orleans_reminder
            WHERE reminder_name = 'drive' AND grain_id LIKE 'payout/%'
            LIMIT {UnfinishedMax}
            """);
        return await ReadStringsAsync(command, cancellationToken);
    }

    private static async Task<IReadOnlyList<string>> ReadStringsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
