using Npgsql;

namespace Payments.Reconciliation.Matching;

/// <summary>
/// Matches a staged bank statement against the ledger, set-based: each entry of our account is one of our settlements
/// from the PSP (<c>settlement:&lt;automatic_payout_id&gt;</c>, by the bank's reference or the end-to-end id) or one of our
/// seller payouts (<c>payout_paid:&lt;payout_id&gt;</c>, by the end-to-end id), with the same signed money on our cash
/// account; anything else is an entry we cannot place. Our settlements and paid payouts of the window that no statement
/// has shown, past the lag, are missing in the bank. Runs in the caller's transaction.
/// </summary>
public static class BankMatcher
{
    private const string Theirs = """
        jsonb_build_object('statement_id', b.statement_id, 'account', b.account, 'entry', b.entry_no, 'currency', b.currency,
                           'amount', b.amount, 'status', b.status, 'booking_date', b.booking_date,
                           'account_servicer_reference', b.account_reference, 'end_to_end_id', b.end_to_end_id, 'remittance', b.remittance)
        """;

    /// <summary>The bank's own reference of an entry where it gives one, else its place in its statement.</summary>
    private const string EntryKey = "b.account || ':' || coalesce(b.account_reference, b.statement_id || '#' || b.entry_no)";

    public static async Task<MatchingResult> MatchAsync(NpgsqlConnection connection, MatchingRun run, MatchingSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await RunFindings.CreateAsync(connection, cancellationToken);
        await RunFindings.ScalarAsync(connection, RememberSeen, run, settings, cancellationToken);
        var matched = await RunFindings.ScalarAsync(connection, MatchEntries, run, settings, cancellationToken);
        await RunFindings.ScalarAsync(connection, MissingInBank, run, settings, cancellationToken);
        await RunFindings.FileAsync(connection, run, cancellationToken);
        await RunFindings.ScalarAsync(connection, ShownLater, run, settings, cancellationToken);
        var lines = await RunFindings.ScalarAsync(connection, "SELECT count(*) FROM bank_statement_entries WHERE run_id = @run", run, settings, cancellationToken);
        return new MatchingResult(lines, matched);
    }

    private const string RememberSeen = $"""
        INSERT INTO bank_entries_seen (entry_key, first_run_id, account_reference, end_to_end_id)
        SELECT DISTINCT ON ({EntryKey}) {EntryKey}, @run, b.account_reference, b.end_to_end_id
        FROM bank_statement_entries b WHERE b.run_id = @run AND b.own_account
        ORDER BY {EntryKey}, b.entry_no
        ON CONFLICT (entry_key) DO NOTHING
        """;

    private const string MatchEntries = $"""
        WITH joined AS MATERIALIZED (
            SELECT b.*, {EntryKey} AS entry_key, t.external_id, t.kind, t.psp_reference, t.created_at,
                   CASE e.direction WHEN 'debit' THEN e.amount ELSE -e.amount END AS our_amount, e.currency AS our_currency
            FROM bank_statement_entries b
            LEFT JOIN LATERAL (
                SELECT * FROM ledger_transactions t
                WHERE b.own_account
                  AND t.external_id IN ('settlement:' || coalesce(b.account_reference, ''), 'settlement:' || coalesce(b.end_to_end_id, ''),
                                        'payout_paid:' || coalesce(b.end_to_end_id, ''))
                ORDER BY t.transaction_id LIMIT 1) t ON true
            LEFT JOIN ledger_entries e ON e.transaction_id = t.transaction_id AND e.account = @cash
            WHERE b.run_id = @run),
        found AS (
            INSERT INTO run_findings (kind, record_key, class, payout_id, ours, theirs)
            SELECT CASE WHEN b.external_id IS NULL THEN 'unknown_bank_entry' ELSE 'bank_amount_mismatch' END,
                   'entry:' || b.entry_key,
                   CASE WHEN b.external_id IS NULL THEN 'INVESTIGATE' ELSE 'MANUAL_REVIEW' END,
                   CASE WHEN b.kind = 'payout_paid' THEN substr(b.external_id, length('payout_paid:') + 1) ELSE b.psp_reference END,
                   CASE WHEN b.external_id IS NOT NULL THEN
                       jsonb_build_object('external_id', b.external_id, 'kind', b.kind, 'psp_reference', b.psp_reference,
                                          'amount', b.our_amount, 'currency', b.our_currency, 'created_at', b.created_at) END,
                   {Theirs}
            FROM joined b
            WHERE b.external_id IS NULL OR b.our_amount IS DISTINCT FROM b.amount OR b.our_currency IS DISTINCT FROM b.currency
            RETURNING 1)
        SELECT count(*) FROM joined WHERE external_id IS NOT NULL AND our_amount = amount AND our_currency = currency
        """;

    /// <summary>Settlements and payouts filed as missing that a statement has shown since: resolved, by the statement itself.</summary>
    private const string ShownLater = """
        UPDATE reconciliation_breaks b
        SET status = 'resolved', resolution = 'matched_later', resolved_at = @now
        FROM ledger_transactions t
        WHERE b.source = 'bank' AND b.kind = 'missing_in_bank' AND b.status = 'open'
          AND t.external_id = substr(b.record_key, length('ledger:') + 1)
          AND EXISTS (SELECT 1 FROM bank_entries_seen s
                      WHERE s.account_reference = t.psp_reference OR s.end_to_end_id = t.psp_reference
                         OR (t.kind = 'payout_paid' AND s.end_to_end_id = substr(t.external_id, length('payout_paid:') + 1)))
        """;

    /// <summary>Our settlements and paid seller payouts (those that touched our cash account) that no statement has shown.</summary>
    private const string MissingInBank = """
        INSERT INTO run_findings (kind, record_key, class, payout_id, ours)
        SELECT 'missing_in_bank', 'ledger:' || t.external_id, 'MANUAL_REVIEW',
               CASE WHEN t.kind = 'payout_paid' THEN substr(t.external_id, length('payout_paid:') + 1) ELSE t.psp_reference END,
               jsonb_build_object('external_id', t.external_id, 'kind', t.kind, 'psp_reference', t.psp_reference,
                                  'amount', CASE e.direction WHEN 'debit' THEN e.amount ELSE -e.amount END, 'currency', e.currency,
                                  'created_at', t.created_at)
        FROM ledger_transactions t
        JOIN ledger_entries e ON e.transaction_id = t.transaction_id AND e.account = @cash
        WHERE t.kind IN ('settlement', 'payout_paid') AND t.created_at >= @window_start AND t.created_at < @window_end AND t.created_at <= @cutoff
          AND NOT EXISTS (SELECT 1 FROM bank_entries_seen s WHERE s.account_reference = t.psp_reference OR s.end_to_end_id = t.psp_reference)
          AND NOT EXISTS (SELECT 1 FROM bank_entries_seen s
                          WHERE t.kind = 'payout_paid' AND s.end_to_end_id = substr(t.external_id, length('payout_paid:') + 1))
        """;
}
