using Npgsql;

namespace Payments.Api.Operations;

/// <param name="SubjectKind"><c>payment_order</c> or <c>payout</c>.</param>
public sealed record DeadLetterRow(string SubjectKind, string SubjectId, string MerchantId, string Stage, int Attempts, string LastError, DateTime ParkedAt, int ReplayCount);

/// <summary>Read-side SQL for operators: dead letters, and the payment orders that still have work owed.</summary>
public sealed class OperationsQueries(NpgsqlDataSource database)
{
    public const int PageMax = 1000;

    public async Task<IReadOnlyList<DeadLetterRow>> ParkedDeadLettersAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT subject_kind, subject_id, merchant_id, stage, attempts, last_error, parked_at, replay_count
            FROM dead_letters WHERE status = 'parked' ORDER BY parked_at, subject_kind, subject_id LIMIT {PageMax}
            """);
        var rows = new List<DeadLetterRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new DeadLetterRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetString(5),
                DateTime.SpecifyKind(reader.GetDateTime(6), DateTimeKind.Utc), reader.GetInt32(7)));
        }

        return rows;
    }

    public async Task<bool> IsParkedAsync(string subjectKind, string subjectId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT 1 FROM dead_letters WHERE subject_kind = $1 AND subject_id = $2 AND status = 'parked'");
        command.Parameters.Add(new NpgsqlParameter { Value = subjectKind });
        command.Parameters.Add(new NpgsqlParameter { Value = subjectId });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>
    /// Every payment order that still has work owed (not final, or effects not applied, or parked): exactly the
    /// orders holding the durable "drive" reminder, which an order drops once it is done.
    /// </summary>
    public async Task<IReadOnlyList<string>> PaymentOrdersWithWorkOwedAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT DISTINCT substring(grain_id FROM position('/' IN grain_id) + 1)
            FROM orleans_reminder
            WHERE reminder_name = 'drive' AND grain_id LIKE 'paymentorder/%'
            LIMIT {PageMax}
            """);
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }
}
