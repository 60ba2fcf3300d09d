using Npgsql;

namespace Payments.Reconciliation.Matching;

/// <summary>
/// Matches a staged settlement report against the ledger, set-based: every charge, refund and refund failure by its
/// payment order (and the PSP's refund id) and its money; two charges for one order and a balance transaction listed twice
/// as duplicates; our bookings that no report has shown, past the lag; and each PSP payout in the report booked as our
/// settlement (<c>settlement:&lt;automatic_payout_id&gt;</c>: the payout into cash, the fees of the rows it carries into
/// fees, their sum out of the receivable), once. Runs in the caller's transaction: the findings, the breaks and the
/// bookings commit together or not at all. Its awaits keep their context (no ConfigureAwait(false)): it runs in a grain
/// and calls back into it to ask orders where they stand.
/// </summary>
public static class SettlementMatcher
{
    private const string Theirs = """
        jsonb_build_object('balance_transaction_id', l.balance_transaction_id, 'reporting_category', l.reporting_category,
                           'created_utc', l.created_utc, 'currency', l.currency, 'gross', l.gross, 'fee', l.fee, 'net', l.net,
                           'source_id', l.source_id, 'payment_intent_id', l.payment_intent_id,
                           'automatic_payout_id', l.automatic_payout_id, 'payment_order_id', l.payment_order_id)
        """;

    private const string Ours = """
        jsonb_build_object('external_id', t.external_id, 'kind', t.kind, 'psp_reference', t.psp_reference,
                           'amount', e.amount, 'currency', e.currency, 'created_at', t.created_at)
        """;

    public static async Task<MatchingResult> MatchAsync(
        NpgsqlConnection connection, MatchingRun run, MatchingSettings settings, OrderStandingLookup standings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(settings);
        await RunFindings.CreateAsync(connection, cancellationToken);
        // A report of a million lines is sorted once, here, and the statements below read the result; the planner must
        // know how big it is (autovacuum has not seen the lines just staged).
        await RunFindings.ScalarAsync(connection, DistinctLines, run, settings, cancellationToken);
        await RunFindings.ScalarAsync(connection, "ANALYZE run_lines", run, settings, cancellationToken);
        var lines = await RunFindings.ScalarAsync(connection, "SELECT sum(copies) FROM run_lines", run, settings, cancellationToken);

        long matched = 0;
        matched += await MatchCategoryAsync(connection, run, settings, "charge",
            "t.external_id = 'payin:' || l.payment_order_id", "l.gross", "missing_in_ledger", cancellationToken);
        matched += await MatchCategoryAsync(connection, run, settings, "refund",
            "t.payment_order_id = l.payment_order_id AND t.kind = 'refund' AND t.psp_reference = l.source_id", "-l.gross", "missing_in_ledger", cancellationToken);
        matched += await MatchCategoryAsync(connection, run, settings, "refund_failure",
            "t.payment_order_id = l.payment_order_id AND t.kind = 'refund_failed' AND t.psp_reference = l.source_id", "l.gross", "status_mismatch", cancellationToken);
        matched += await RunFindings.ScalarAsync(connection, BookSettlements, run, settings, cancellationToken);
        matched += await RunFindings.ScalarAsync(connection, "SELECT count(*) FROM run_lines WHERE reporting_category = 'fee'", run, settings, cancellationToken);
        await RunFindings.ScalarAsync(connection, UnknownCategories, run, settings, cancellationToken);
        await RunFindings.ScalarAsync(connection, DuplicateLines, run, settings, cancellationToken);
        await RunFindings.ScalarAsync(connection, DuplicateCharges, run, settings, cancellationToken);
        await RunFindings.ScalarAsync(connection, MissingCharges, run, settings, cancellationToken);
        await RunFindings.ScalarAsync(connection, MissingRefunds, run, settings, cancellationToken);

        await RunFindings.ClassifyByOrderAsync(connection, run.Source, standings, cancellationToken);
        await RunFindings.FileAsync(connection, run, cancellationToken);
        await RunFindings.ScalarAsync(connection, ShownLater, run, settings, cancellationToken);
        return new MatchingResult(lines, matched);
    }

    /// <summary>
    /// The run's lines, a balance transaction listed more than once kept once (its first line) with the number of copies.
    /// </summary>
    private const string DistinctLines = """
        CREATE TEMP TABLE run_lines ON COMMIT DROP AS
        SELECT DISTINCT ON (balance_transaction_id) line_no, balance_transaction_id, created_utc, currency, gross, fee, net,
               reporting_category, source_id, payment_intent_id, automatic_payout_id, payment_order_id,
               count(*) OVER (PARTITION BY balance_transaction_id) AS copies
        FROM settlement_lines WHERE run_id = @run
        ORDER BY balance_transaction_id, line_no
        """;

    /// <summary>
    /// The rows of one category against the booking they stand for: none (<paramref name="missingKind"/>, its class
    /// decided by its order later; INVESTIGATE at once when the row names no order of ours), other currency, other amount.
    /// Returns how many agreed: the category's rows less those found to differ.
    /// </summary>
    private static async Task<long> MatchCategoryAsync(
        NpgsqlConnection connection, MatchingRun run, MatchingSettings settings, string category, string joinCondition, string expectedAmount, string missingKind,
        CancellationToken cancellationToken)
    {
        var rows = await RunFindings.ScalarAsync(connection, $"SELECT count(*) FROM run_lines WHERE reporting_category = '{category}'", run, settings, cancellationToken);
        await using var command = new NpgsqlCommand($"""
            INSERT INTO run_findings (kind, record_key, class, payment_order_id, ours, theirs)
            SELECT CASE WHEN t.transaction_id IS NULL THEN '{missingKind}'
                        WHEN e.currency <> l.currency THEN 'currency_mismatch'
                        ELSE 'amount_mismatch' END,
                   'txn:' || l.balance_transaction_id,
                   CASE WHEN t.transaction_id IS NOT NULL THEN 'MANUAL_REVIEW'
                        WHEN l.payment_order_id IS NULL THEN '{(missingKind == "missing_in_ledger" ? "INVESTIGATE" : "MANUAL_REVIEW")}' END,
                   l.payment_order_id,
                   CASE WHEN t.transaction_id IS NOT NULL THEN {Ours} END,
                   {Theirs}
            FROM run_lines l
            LEFT JOIN ledger_transactions t ON {joinCondition}
            LEFT JOIN ledger_entries e ON e.transaction_id = t.transaction_id AND e.direction = 'debit'
            WHERE l.reporting_category = '{category}'
              AND (t.transaction_id IS NULL OR e.currency <> l.currency OR e.amount <> {expectedAmount})
            """, connection);
        RunFindings.AddParameters(command, run, settings);
        var differing = await command.ExecuteNonQueryAsync(cancellationToken);
        return rows - differing;
    }

    /// <summary>
    /// Each PSP payout the report shows, booked once as our settlement: the payout's amount into cash (out of it when
    /// refunds outweighed the day), the fees of the rows it carries (in this report or an earlier one of the look-back)
    /// into fees (out of them when refunded fees outweighed), their sum out of what the PSP owes us. Returns the number of
    /// payout rows (each is the PSP's own record, and agrees with our booking of it by construction).
    /// </summary>
    private const string BookSettlements = """
        WITH payouts AS (
            SELECT source_id AS payout_id, currency, -gross AS amount
            FROM run_lines WHERE reporting_category = 'payout' AND source_id IS NOT NULL),
        recent_runs AS (
            SELECT run_id FROM reconciliation_runs
            WHERE source = 'psp' AND (run_id = @run OR run_date >= (@window_start AT TIME ZONE 'UTC')::date)),
        carried AS (
            SELECT l.automatic_payout_id AS payout_id,
                   sum(CASE WHEN l.reporting_category = 'fee' THEN -l.net ELSE l.fee END) AS fees
            FROM (SELECT DISTINCT ON (s.balance_transaction_id) s.*
                  FROM settlement_lines s
                  JOIN recent_runs r ON r.run_id = s.run_id
                  JOIN payouts p ON p.payout_id = s.automatic_payout_id
                  WHERE s.reporting_category <> 'payout'
                  ORDER BY s.balance_transaction_id) l
            GROUP BY l.automatic_payout_id),
        settled AS (
            SELECT p.payout_id, p.currency, p.amount, coalesce(c.fees, 0) AS fees
            FROM payouts p LEFT JOIN carried c ON c.payout_id = p.payout_id),
        booked AS (
            INSERT INTO ledger_transactions (external_id, kind, psp_reference)
            SELECT 'settlement:' || payout_id, 'settlement', payout_id FROM settled WHERE amount <> 0 OR fees <> 0
            ON CONFLICT (external_id) DO NOTHING
            RETURNING transaction_id, psp_reference),
        entries AS (
            INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency)
            SELECT b.transaction_id, e.account, e.direction, e.amount, s.currency
            FROM booked b
            JOIN settled s ON s.payout_id = b.psp_reference
            CROSS JOIN LATERAL (VALUES
                (@cash, CASE WHEN s.amount >= 0 THEN 'debit' ELSE 'credit' END, abs(s.amount)),
                (@fees, CASE WHEN s.fees >= 0 THEN 'debit' ELSE 'credit' END, abs(s.fees)),
                (@receivable, CASE WHEN s.amount + s.fees >= 0 THEN 'credit' ELSE 'debit' END, abs(s.amount + s.fees))
            ) AS e (account, direction, amount)
            WHERE e.amount > 0
            RETURNING 1)
        SELECT count(*) FROM settled
        """;

    /// <summary>Rows of a kind we never book (an adjustment): someone has to find out what they are.</summary>
    private const string UnknownCategories = $"""
        INSERT INTO run_findings (kind, record_key, class, payment_order_id, theirs)
        SELECT 'missing_in_ledger', 'txn:' || l.balance_transaction_id, 'INVESTIGATE', l.payment_order_id, {Theirs}
        FROM run_lines l
        WHERE l.reporting_category NOT IN ('charge', 'refund', 'refund_failure', 'payout', 'fee')
        """;

    /// <summary>The same balance transaction listed more than once in one report.</summary>
    private const string DuplicateLines = """
        INSERT INTO run_findings (kind, record_key, class, payment_order_id, theirs)
        SELECT 'duplicate_in_settlement', 'txn:' || l.balance_transaction_id, 'INVESTIGATE', l.payment_order_id,
               jsonb_build_object('balance_transaction_id', l.balance_transaction_id, 'reporting_category', l.reporting_category,
                                  'copies', l.copies,
                                  'line_numbers', (SELECT jsonb_agg(s.line_no ORDER BY s.line_no) FROM settlement_lines s
                                                   WHERE s.run_id = @run AND s.balance_transaction_id = l.balance_transaction_id),
                                  'gross', l.gross, 'currency', l.currency, 'payment_order_id', l.payment_order_id)
        FROM run_lines l WHERE l.copies > 1
        """;

    /// <summary>
    /// Two different charges for one payment order, in this report or any before (a balance transaction that an earlier
    /// report showed too is the same charge): every one after the first.
    /// </summary>
    private const string DuplicateCharges = """
        WITH doubled AS (
            SELECT l.payment_order_id FROM run_lines l
            WHERE l.reporting_category = 'charge' AND l.payment_order_id IS NOT NULL
              AND EXISTS (SELECT 1 FROM settlement_lines s
                          WHERE s.reporting_category = 'charge' AND s.payment_order_id = l.payment_order_id
                            AND s.balance_transaction_id <> l.balance_transaction_id)),
        charges AS (
            SELECT c.*, row_number() OVER (PARTITION BY c.payment_order_id ORDER BY c.created_utc, c.balance_transaction_id) AS nth,
                   first_value(c.balance_transaction_id) OVER (PARTITION BY c.payment_order_id ORDER BY c.created_utc, c.balance_transaction_id) AS first_charge
            FROM (SELECT DISTINCT ON (s.balance_transaction_id) s.balance_transaction_id, s.source_id, s.created_utc, s.payment_order_id
                  FROM settlement_lines s JOIN (SELECT DISTINCT payment_order_id FROM doubled) d ON d.payment_order_id = s.payment_order_id
                  WHERE s.reporting_category = 'charge'
                  ORDER BY s.balance_transaction_id) c)
        INSERT INTO run_findings (kind, record_key, class, payment_order_id, theirs)
        SELECT 'duplicate_in_settlement', 'charge:' || c.balance_transaction_id, 'INVESTIGATE', c.payment_order_id,
               jsonb_build_object('balance_transaction_id', c.balance_transaction_id, 'source_id', c.source_id,
                                  'created_utc', c.created_utc, 'payment_order_id', c.payment_order_id, 'first_charge', c.first_charge)
        FROM charges c WHERE c.nth > 1
        """;

    /// <summary>Bookings filed as missing that a report has shown since: resolved, by the report itself.</summary>
    private const string ShownLater = """
        UPDATE reconciliation_breaks b
        SET status = 'resolved', resolution = 'matched_later', resolved_at = @now, fix_due = false
        FROM ledger_transactions t
        WHERE b.source = 'psp' AND b.kind = 'missing_in_settlement' AND b.status = 'open'
          AND t.external_id = substr(b.record_key, length('ledger:') + 1)
          AND CASE WHEN t.kind = 'payin'
                   THEN EXISTS (SELECT 1 FROM settlement_lines s WHERE s.reporting_category = 'charge' AND s.payment_order_id = t.payment_order_id)
                   ELSE EXISTS (SELECT 1 FROM settlement_lines s
                                WHERE s.reporting_category IN ('refund', 'refund_failure') AND s.source_id = t.psp_reference
                                  AND s.reporting_category = CASE t.kind WHEN 'refund' THEN 'refund' ELSE 'refund_failure' END) END
        """;

    /// <summary>Our pay-ins of the window that no report has shown a charge for, past the lag.</summary>
    private const string MissingCharges = $"""
        INSERT INTO run_findings (kind, record_key, class, payment_order_id, ours)
        SELECT 'missing_in_settlement', 'ledger:' || t.external_id, 'MANUAL_REVIEW', t.payment_order_id, {Ours}
        FROM (SELECT * FROM ledger_transactions t
              WHERE t.kind = 'payin' AND t.created_at >= @window_start AND t.created_at < @window_end AND t.created_at <= @cutoff
                AND NOT EXISTS (SELECT 1 FROM settlement_lines s
                                WHERE s.reporting_category = 'charge' AND s.payment_order_id = t.payment_order_id)) t
        CROSS JOIN LATERAL (SELECT amount, currency FROM ledger_entries
                            WHERE transaction_id = t.transaction_id AND direction = 'debit' LIMIT 1) e
        """;

    /// <summary>Our refunds (and refunds that bounced) of the window that no report has shown, past the lag.</summary>
    private const string MissingRefunds = $"""
        INSERT INTO run_findings (kind, record_key, class, payment_order_id, ours)
        SELECT 'missing_in_settlement', 'ledger:' || t.external_id, 'MANUAL_REVIEW', t.payment_order_id, {Ours}
        FROM (SELECT * FROM ledger_transactions t
              WHERE t.kind IN ('refund', 'refund_failed') AND t.created_at >= @window_start AND t.created_at < @window_end
                AND t.created_at <= @cutoff
                AND NOT EXISTS (SELECT 1 FROM settlement_lines s
                                WHERE s.reporting_category IN ('refund', 'refund_failure') AND s.source_id = t.psp_reference
                                  AND s.reporting_category = CASE t.kind WHEN 'refund' THEN 'refund' ELSE 'refund_failure' END)) t
        CROSS JOIN LATERAL (SELECT amount, currency FROM ledger_entries
                            WHERE transaction_id = t.transaction_id AND direction = 'debit' LIMIT 1) e
        """;
}
