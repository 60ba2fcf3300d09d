using Npgsql;
using NpgsqlTypes;

namespace Payments.Grains.Payouts;

/// <summary>
/// The SQL tables that list payouts and scheduled sellers for the API and for operators' payout runs. The grains own the
/// payouts and settings themselves; these rows only say where to look.
/// </summary>
public sealed class PayoutIndex(NpgsqlDataSource database)
{
    /// <summary>
    /// Lists a payout that is being created. A row left by a payout the wallet refused (a crash between forgetting its state
    /// and its row) is replaced: only the payout being created now owns the id.
    /// </summary>
    public async Task RecordPayoutAsync(string payoutId, string merchantId, string sellerAccount, string currency, DateTimeOffset createdAt)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO payouts (payout_id, merchant_id, seller_account, currency, created_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (payout_id) DO UPDATE
            SET merchant_id = excluded.merchant_id, seller_account = excluded.seller_account, currency = excluded.currency, created_at = excluded.created_at
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = payoutId });
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        command.Parameters.Add(new NpgsqlParameter { Value = sellerAccount });
        command.Parameters.Add(new NpgsqlParameter { Value = currency });
        command.Parameters.Add(new NpgsqlParameter { Value = createdAt });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>For a payout the wallet refused: it never existed.</summary>
    public async Task ForgetPayoutAsync(string payoutId)
    {
        await using var command = database.CreateCommand("DELETE FROM payouts WHERE payout_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = payoutId });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Lists the seller for operators' payout runs (daily or weekly), or takes it off (manual).</summary>
    public async Task RecordScheduleAsync(string sellerAccount, string merchantId, string? interval, string? weeklyAnchor, DateTimeOffset updatedAt)
    {
        await using var command = interval is null
            ? database.CreateCommand("DELETE FROM payout_schedules WHERE seller_account = $1")
            : database.CreateCommand("""
                INSERT INTO payout_schedules (seller_account, merchant_id, payout_interval, weekly_anchor, updated_at) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (seller_account) DO UPDATE
                SET merchant_id = excluded.merchant_id, payout_interval = excluded.payout_interval,
                    weekly_anchor = excluded.weekly_anchor, updated_at = excluded.updated_at
                """);
        command.Parameters.Add(new NpgsqlParameter { Value = sellerAccount });
        if (interval is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
            command.Parameters.Add(new NpgsqlParameter { Value = interval });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)weeklyAnchor ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = updatedAt });
        }

        await command.ExecuteNonQueryAsync();
    }
}
