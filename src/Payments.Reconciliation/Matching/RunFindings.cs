using Npgsql;

namespace Payments.Reconciliation.Matching;

/// <summary>
/// The differences a run finds, gathered in a temporary table by set-based queries, then classified and filed as breaks
/// in one go: a break is filed once per (source, kind, record) with an id derived from them, so a rerun or a resumed run
/// lists the same break again, and a resolved break is not reopened.
/// </summary>
internal static class RunFindings
{
    /// <summary>A break's id: the same for the same source, kind and record, whichever run finds it.</summary>
    public const string BreakIdSql = "'brk_' || left(md5(@source || '|' || f.kind || '|' || f.record_key), 24)";

    public static Task CreateAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, """
            CREATE TEMP TABLE run_findings (
                kind             text  NOT NULL,
                record_key       text  NOT NULL,
                class            text  NULL,
                payment_order_id text  NULL,
                payout_id        text  NULL,
                -- What the named order said it can do (OrderStanding), while the class waits on it.
                standing         integer NULL,
                ours             jsonb NULL,
                theirs           jsonb NULL
            ) ON COMMIT DROP
            """, cancellationToken);

    /// <summary>
    /// Decides the class of findings that depend on their payment order (a charge or refund we have not booked, a
    /// refund the PSP says failed): a break filed before keeps its class; for the others each order is asked once.
    /// </summary>
    public static async Task ClassifyByOrderAsync(NpgsqlConnection connection, string source, OrderStandingLookup standings, CancellationToken cancellationToken)
    {
        await using (var known = new NpgsqlCommand("""
            UPDATE run_findings f SET class = b.class, kind = b.kind
            FROM reconciliation_breaks b
            WHERE f.class IS NULL AND b.source = @source AND b.record_key = f.record_key
              AND b.kind IN ('missing_in_ledger', 'status_mismatch')
            """, connection))
        {
            known.Parameters.AddWithValue("source", source);
            await known.ExecuteNonQueryAsync(cancellationToken);
        }

        var orders = new List<string>();
        await using (var pending = new NpgsqlCommand("SELECT DISTINCT payment_order_id FROM run_findings WHERE class IS NULL AND payment_order_id IS NOT NULL", connection))
        await using (var reader = await pending.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                orders.Add(reader.GetString(0));
            }
        }

        var answers = orders.Count == 0 ? new Dictionary<string, OrderStanding>() : await standings(orders, cancellationToken);
        var ids = orders.ToArray();
        var values = orders.Select(id => (int)answers.GetValueOrDefault(id, OrderStanding.Unknown)).ToArray();
        // A charge of no order of ours is for someone to investigate; a failed order the PSP charged, or a refund the PSP
        // says failed that no order can check, is known enough for a person to decide.
        await using var classify = new NpgsqlCommand("""
            UPDATE run_findings f SET standing = s.standing
            FROM unnest(@ids::text[], @standings::int[]) AS s (payment_order_id, standing)
            WHERE f.class IS NULL AND f.payment_order_id = s.payment_order_id;

            UPDATE run_findings
            SET kind = CASE WHEN kind = 'missing_in_ledger' AND standing = 2 THEN 'status_mismatch' ELSE kind END,
                class = CASE WHEN standing = 1 THEN 'AUTO_FIXED'
                             WHEN kind = 'missing_in_ledger' AND coalesce(standing, 0) = 0 THEN 'INVESTIGATE'
                             ELSE 'MANUAL_REVIEW' END
            WHERE class IS NULL;
            """, connection);
        classify.Parameters.AddWithValue("ids", ids);
        classify.Parameters.AddWithValue("standings", values);
        await classify.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Files the run's findings as breaks (those filed before stay as they are) and records that the run found them.</summary>
    public static async Task FileAsync(NpgsqlConnection connection, MatchingRun run, CancellationToken cancellationToken)
    {
        await using var file = new NpgsqlCommand($"""
            INSERT INTO reconciliation_breaks (break_id, source, kind, record_key, class, status, run_id, payment_order_id, payout_id,
                                               ours, theirs, fix_due, created_at)
            SELECT {BreakIdSql}, @source, f.kind, f.record_key, f.class, 'open', @run, f.payment_order_id, f.payout_id,
                   f.ours, f.theirs, f.class = 'AUTO_FIXED', @now
            FROM (SELECT DISTINCT ON (kind, record_key) * FROM run_findings ORDER BY kind, record_key, class) f
            ORDER BY f.kind, f.record_key
            ON CONFLICT (source, kind, record_key) DO NOTHING;

            INSERT INTO reconciliation_run_breaks (run_id, break_id)
            SELECT DISTINCT @run, {BreakIdSql} FROM run_findings f
            ON CONFLICT DO NOTHING;
            """, connection);
        file.Parameters.AddWithValue("source", run.Source);
        file.Parameters.AddWithValue("run", run.RunId);
        file.Parameters.AddWithValue("now", run.Now);
        await file.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<long> ScalarAsync(NpgsqlConnection connection, string sql, MatchingRun run, MatchingSettings settings, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        AddParameters(command, run, settings);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? 0 : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The parameters every matching query may use: the run, its date's window, and the accounts.</summary>
    public static void AddParameters(NpgsqlCommand command, MatchingRun run, MatchingSettings settings)
    {
        var dayEnd = new DateTimeOffset(run.Date.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        command.Parameters.AddWithValue("run", run.RunId);
        command.Parameters.AddWithValue("source", run.Source);
        // Our bookings up to the end of the run's day, back as far as the look-back, that have waited longer than the lag.
        command.Parameters.AddWithValue("window_start", dayEnd - TimeSpan.FromDays(1) - settings.LookBack);
        command.Parameters.AddWithValue("window_end", dayEnd);
        command.Parameters.AddWithValue("cutoff", run.Now - settings.SettlementLag);
        command.Parameters.AddWithValue("receivable", settings.PspReceivableAccount);
        command.Parameters.AddWithValue("fees", settings.PspFeesAccount);
        command.Parameters.AddWithValue("cash", settings.CashAccount);
        command.Parameters.AddWithValue("now", run.Now);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
