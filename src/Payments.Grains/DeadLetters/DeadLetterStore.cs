using Npgsql;
using Payments.Core.DeadLetters;

namespace Payments.Grains.DeadLetters;

/// <summary>The dead-letter table, written by payment orders and payouts when they park or are replayed.</summary>
public sealed class DeadLetterStore(NpgsqlDataSource database)
{
    public const string SubjectPaymentOrder = DeadLetterKinds.PaymentOrder;
    public const string SubjectPayout = DeadLetterKinds.Payout;

    public const string StagePspCharge = "psp_charge";
    public const string StagePspRefund = "psp_refund";
    public const string StagePspPayout = "psp_payout";
    public const string StageEffects = "effects";

    /// <summary>Records (or records again) that the payment order or payout is parked. Safe to repeat.</summary>
    public async Task ParkAsync(string subjectKind, string subjectId, string merchantId, string stage, int attempts, string lastError, DateTimeOffset parkedAt)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO dead_letters (subject_kind, subject_id, merchant_id, stage, attempts, last_error, parked_at, status)
            VALUES ($1, $2, $3, $4, $5, $6, $7, 'parked')
            ON CONFLICT (subject_kind, subject_id) DO UPDATE
            SET stage = excluded.stage, attempts = excluded.attempts, last_error = excluded.last_error,
                parked_at = excluded.parked_at, status = 'parked', replayed_at = NULL
            WHERE dead_letters.status <> 'parked' OR dead_letters.parked_at <> excluded.parked_at
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = subjectKind });
        command.Parameters.Add(new NpgsqlParameter { Value = subjectId });
        command.Parameters.Add(new NpgsqlParameter { Value = merchantId });
        command.Parameters.Add(new NpgsqlParameter { Value = stage });
        command.Parameters.Add(new NpgsqlParameter { Value = attempts });
        command.Parameters.Add(new NpgsqlParameter { Value = lastError });
        command.Parameters.Add(new NpgsqlParameter { Value = parkedAt });
        await command.ExecuteNonQueryAsync();
    }

    public async Task MarkReplayedAsync(string subjectKind, string subjectId, DateTimeOffset replayedAt)
    {
        await using var command = database.CreateCommand("""
            UPDATE dead_letters SET status = 'replayed', replayed_at = $3, replay_count = replay_count + 1
            WHERE subject_kind = $1 AND subject_id = $2 AND status = 'parked'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = subjectKind });
        command.Parameters.Add(new NpgsqlParameter { Value = subjectId });
        command.Parameters.Add(new NpgsqlParameter { Value = replayedAt });
        await command.ExecuteNonQueryAsync();
    }
}
