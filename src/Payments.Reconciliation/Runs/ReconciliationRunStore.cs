using System.Data;
using Npgsql;
using Payments.Reconciliation.Matching;

namespace Payments.Reconciliation.Runs;

/// <summary>
/// The runs and their stages in PostgreSQL: each stage commits as a whole (staging, matching with its breaks and
/// bookings, each auto-fix), so a run interrupted anywhere resumes from the last stage it finished.
/// </summary>
public sealed class ReconciliationRunStore(NpgsqlDataSource database)
{
    /// <summary>Runs with the breaks each found counted by class, in one pass over its breaks.</summary>
    private const string RunsWithCounts = """
        SELECT r.run_id, r.source, r.run_date, r.origin, r.status, r.stage, r.lines, r.matched, r.attempts, r.failure, r.started_at, r.finished_at,
               c.auto_fixed, c.manual_review, c.investigate
        FROM reconciliation_runs r
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE b.class = 'AUTO_FIXED') AS auto_fixed,
                   count(*) FILTER (WHERE b.class = 'MANUAL_REVIEW') AS manual_review,
                   count(*) FILTER (WHERE b.class = 'INVESTIGATE') AS investigate
            FROM reconciliation_run_breaks rb JOIN reconciliation_breaks b USING (break_id)
            WHERE rb.run_id = r.run_id) c
        """;

    /// <summary>Records a run that fetches its own file. False when a run of that id exists already.</summary>
    public async Task<bool> CreateAsync(string runId, string source, DateOnly date, string origin, DateTimeOffset now)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO reconciliation_runs (run_id, source, run_date, origin, status, stage, started_at)
            VALUES ($1, $2, $3, $4, 'RUNNING', 'fetching', $5)
            ON CONFLICT (run_id) DO NOTHING
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = source });
        command.Parameters.Add(new NpgsqlParameter { Value = date });
        command.Parameters.Add(new NpgsqlParameter { Value = origin });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        return await command.ExecuteNonQueryAsync() == 1;
    }

    /// <summary>
    /// Opens an upload: the run and its staged file in one transaction, committed by the caller once the file has been
    /// read to its end (and the request's idempotency key is ours), else rolled back: a malformed file stores nothing.
    /// </summary>
    public async Task<RunUpload> BeginUploadAsync(string runId, string source, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connection = await database.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = new NpgsqlCommand("""
                INSERT INTO reconciliation_runs (run_id, source, run_date, origin, status, stage, started_at)
                VALUES ($1, $2, ($3::timestamptz AT TIME ZONE 'UTC')::date, 'upload', 'RUNNING', 'fetching', $3)
                """, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = runId });
            command.Parameters.Add(new NpgsqlParameter { Value = source });
            command.Parameters.Add(new NpgsqlParameter { Value = now });
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new RunUpload(connection, transaction, runId, source);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stages a fetched file and moves the run on to matching, in one transaction.</summary>
    public async Task StageAsync(string runId, string source, Stream file, string ownBankAccount, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LimitIdleAsync(connection, idleTimeout, cancellationToken);
        // A file staged by an attempt that died before committing is gone with its transaction: nothing to clean up.
        var (lines, _) = await RunFiles.StageAsync(connection, runId, source, file, ownBankAccount, cancellationToken);
        await MoveOnAsync(connection, transaction, runId, RunStages.Fetching, RunStages.Matching, lines, matched: null, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Matches the staged file, files the breaks and books what the PSP reports, then moves the run on to fixing; one transaction.</summary>
    public async Task MatchAsync(
        ReconciliationRun run, MatchingSettings settings, OrderStandingLookup standings, DateTimeOffset now, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        await LimitIdleAsync(connection, idleTimeout, cancellationToken);
        // A report of a million lines is sorted and joined in memory rather than in temporary files; its statements are
        // short enough that compiling them (JIT) costs more than it saves.
        await using (var tuning = new NpgsqlCommand("SET LOCAL work_mem = '256MB'; SET LOCAL jit = off", connection))
        {
            await tuning.ExecuteNonQueryAsync(cancellationToken);
        }
        var matching = new MatchingRun(run.RunId, run.Source, run.Date, now);
        var result = run.Source == ReconciliationSources.Psp
            ? await SettlementMatcher.MatchAsync(connection, matching, settings, standings, cancellationToken)
            : await BankMatcher.MatchAsync(connection, matching, settings, cancellationToken);
        await MoveOnAsync(connection, transaction, run.RunId, RunStages.Matching, RunStages.Fixing, result.Lines, result.Matched, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<ReconciliationRun?> GetAsync(string runId)
    {
        await using var command = database.CreateCommand($"{RunsWithCounts} WHERE r.run_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadRun(reader) : null;
    }

    /// <summary>The source's runs still RUNNING, oldest first: what a reminder tick resumes.</summary>
    public async Task<IReadOnlyList<ReconciliationRun>> UnfinishedAsync(string source)
    {
        await using var command = database.CreateCommand($"{RunsWithCounts} WHERE r.status = 'RUNNING' AND r.source = $1 ORDER BY r.started_at, r.run_id");
        command.Parameters.Add(new NpgsqlParameter { Value = source });
        await using var reader = await command.ExecuteReaderAsync();
        var runs = new List<ReconciliationRun>();
        while (await reader.ReadAsync())
        {
            runs.Add(ReadRun(reader));
        }

        return runs;
    }

    /// <summary>Counts an attempt at the run (a crash mid-way shows as more than one); returns the count.</summary>
    public async Task<int> CountAttemptAsync(string runId)
    {
        await using var command = database.CreateCommand("UPDATE reconciliation_runs SET attempts = attempts + 1 WHERE run_id = $1 RETURNING attempts");
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        return (int)(await command.ExecuteScalarAsync() ?? 0);
    }

    /// <summary>The auto-fixes the source still owes, oldest first.</summary>
    public async Task<IReadOnlyList<DueFix>> DueFixesAsync(string source, int limit)
    {
        await using var command = database.CreateCommand("""
            SELECT break_id, payment_order_id FROM reconciliation_breaks
            WHERE fix_due AND source = $1 AND payment_order_id IS NOT NULL
            ORDER BY fix_attempts, seq LIMIT $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = source });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        await using var reader = await command.ExecuteReaderAsync();
        var fixes = new List<DueFix>();
        while (await reader.ReadAsync())
        {
            fixes.Add(new DueFix(reader.GetString(0), reader.GetString(1)));
        }

        return fixes;
    }

    /// <summary>
    /// Whether the booking the break's PSP record stands for is now in the ledger: the pay-in of a charge, the refund of a
    /// refund row, the reversal of a refund failure (by the PSP's refund id). An auto-fix has landed only then.
    /// </summary>
    public async Task<bool> IsBookedAsync(string breakId)
    {
        await using var command = database.CreateCommand("""
            SELECT EXISTS (
                SELECT 1 FROM reconciliation_breaks b
                JOIN ledger_transactions t ON
                     (b.theirs->>'reporting_category' = 'charge' AND t.external_id = 'payin:' || b.payment_order_id)
                  OR (b.theirs->>'reporting_category' IN ('refund', 'refund_failure') AND t.payment_order_id = b.payment_order_id
                      AND t.kind = CASE b.theirs->>'reporting_category' WHEN 'refund' THEN 'refund' ELSE 'refund_failed' END
                      AND t.psp_reference = b.theirs->>'source_id')
                WHERE b.break_id = $1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = breakId });
        return (bool)(await command.ExecuteScalarAsync() ?? false);
    }

    /// <summary>
    /// Records what an auto-fix did: one that landed resolves its break (<c>auto_fixed</c>); one that could not land yet
    /// stays due, up to <paramref name="attemptsMax"/> attempts; one that found nothing to apply, or ran out of attempts,
    /// goes to a person (MANUAL_REVIEW).
    /// </summary>
    public async Task RecordFixAsync(string breakId, string fixJson, FixResult result, int attemptsMax, DateTimeOffset now)
    {
        await using var command = database.CreateCommand("""
            UPDATE reconciliation_breaks
            SET fix = $2::jsonb,
                fix_attempts = fix_attempts + 1,
                fix_due = $3 = 1 AND fix_attempts + 1 < $5,
                class = CASE WHEN $3 = 2 OR ($3 = 1 AND fix_attempts + 1 >= $5) THEN 'MANUAL_REVIEW' ELSE class END,
                status = CASE WHEN $3 = 0 THEN 'resolved' ELSE status END,
                resolution = CASE WHEN $3 = 0 THEN 'auto_fixed' ELSE resolution END,
                resolved_at = CASE WHEN $3 = 0 THEN $4 ELSE resolved_at END
            WHERE break_id = $1 AND fix_due
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = breakId });
        command.Parameters.Add(new NpgsqlParameter { Value = fixJson });
        command.Parameters.Add(new NpgsqlParameter { Value = (int)result });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = attemptsMax });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The breaks the run filed first (not those it found again), counted by kind and class.</summary>
    public async Task<IReadOnlyList<(string Kind, string Class, long Count)>> FiledByAsync(string runId)
    {
        await using var command = database.CreateCommand("""
            SELECT kind, class, count(*) FROM reconciliation_breaks WHERE run_id = $1 GROUP BY kind, class ORDER BY kind, class
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        await using var reader = await command.ExecuteReaderAsync();
        var counts = new List<(string, string, long)>();
        while (await reader.ReadAsync())
        {
            counts.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }

        return counts;
    }

    /// <summary>The first <paramref name="limit"/> breaks the run filed, for the log.</summary>
    public async Task<IReadOnlyList<(string BreakId, string Kind, string Class, string? PaymentOrderId, string? PayoutId)>> FiledSampleAsync(string runId, int limit)
    {
        await using var command = database.CreateCommand("""
            SELECT break_id, kind, class, payment_order_id, payout_id FROM reconciliation_breaks WHERE run_id = $1 ORDER BY seq LIMIT $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        await using var reader = await command.ExecuteReaderAsync();
        var breaks = new List<(string, string, string, string?, string?)>();
        while (await reader.ReadAsync())
        {
            breaks.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return breaks;
    }

    public async Task FinishAsync(string runId, DateTimeOffset now)
    {
        await using var command = database.CreateCommand("""
            UPDATE reconciliation_runs SET status = 'SUCCEEDED', stage = 'done', finished_at = $2
            WHERE run_id = $1 AND status = 'RUNNING'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        await command.ExecuteNonQueryAsync();
    }

    public async Task FailAsync(string runId, string failure, DateTimeOffset now)
    {
        await using var command = database.CreateCommand("""
            UPDATE reconciliation_runs SET status = 'FAILED', failure = $2, finished_at = $3
            WHERE run_id = $1 AND status = 'RUNNING'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = failure });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Records why an attempt stopped, on a run that stays RUNNING for the next attempt.</summary>
    public async Task NoteInterruptionAsync(string runId, string failure)
    {
        await using var command = database.CreateCommand("UPDATE reconciliation_runs SET failure = $2 WHERE run_id = $1 AND status = 'RUNNING'");
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = failure });
        await command.ExecuteNonQueryAsync();
    }

    internal static async Task MoveOnAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string runId, string from, string to, long lines, long? matched, CancellationToken cancellationToken,
        DateOnly? date = null)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE reconciliation_runs SET stage = $3, lines = $4, matched = coalesce($5, matched), run_date = coalesce($6, run_date)
            WHERE run_id = $1 AND stage = $2 AND status = 'RUNNING'
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        command.Parameters.Add(new NpgsqlParameter { Value = to });
        command.Parameters.Add(new NpgsqlParameter { Value = lines });
        command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = matched });
        command.Parameters.Add(new NpgsqlParameter<DateOnly?> { TypedValue = date });
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            // Someone else (another silo's resumed attempt) moved the run on first: this attempt's work must not count.
            throw new RunMovedOnException(runId, from);
        }
    }

    /// <summary>
    /// Ends the transaction on the server should its client fall silent (a silo killed mid-run) so that its locks do not
    /// hold up the run's next attempt. Asking the orders about breaks happens inside the transaction, hence the margin.
    /// </summary>
    private static async Task LimitIdleAsync(NpgsqlConnection connection, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SET LOCAL idle_in_transaction_session_timeout = {(long)Math.Max(1, idleTimeout.TotalMilliseconds)}", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static ReconciliationRun ReadRun(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateOnly>(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
        reader.GetInt64(6), reader.GetInt64(7), reader.GetInt32(8), reader.IsDBNull(9) ? null : reader.GetString(9),
        reader.GetFieldValue<DateTimeOffset>(10), reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
        reader.GetInt64(12), reader.GetInt64(13), reader.GetInt64(14));
}

/// <summary>What came of an auto-fix.</summary>
public enum FixResult
{
    /// <summary>The order asked the PSP and now agrees with it: the break is resolved as auto-fixed.</summary>
    Landed = 0,

    /// <summary>The PSP could not be asked, or the order has not booked yet: the fix stays due for the next tick.</summary>
    RetryLater = 1,

    /// <summary>The order found nothing it could apply: a person decides.</summary>
    NeedsPerson = 2,
}

/// <summary>The run was no longer at the stage this attempt worked on: another attempt finished it first.</summary>
public sealed class RunMovedOnException(string runId, string stage)
    : Exception($"Reconciliation run {runId} is no longer at stage {stage}; another attempt moved it on.");
