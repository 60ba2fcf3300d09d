using System.Numerics;
using Npgsql;

namespace Payments.Api.Ledger;

/// <summary>Sums over an account's entries: numeric in PostgreSQL, so they may exceed 64 bits.</summary>
public sealed record AccountBalanceRow(string Currency, BigInteger DebitsMinor, BigInteger CreditsMinor);

public sealed record EntryRow(string Account, string Direction, long AmountMinor, string Currency);

/// <summary>Sums over a seller's entries: numeric in PostgreSQL, so they may exceed 64 bits (and then match no wallet).</summary>
public sealed record SellerLedgerBalances(string Seller, string Currency, BigInteger PendingMinor, BigInteger AvailableMinor, BigInteger ReservedMinor, BigInteger PaidOutMinor);

public sealed record TransactionRow(long TransactionId, string ExternalId, string Kind, DateTime CreatedAt, List<EntryRow> Entries);

/// <summary>Read-side SQL over the ledger tables; the ledger writer grain is the only writer.</summary>
public sealed class LedgerQueries(NpgsqlDataSource database)
{
    public const int TransactionsPageMax = 500;

    public async Task<IReadOnlyList<AccountBalanceRow>> AccountBalancesAsync(string account, CancellationToken cancellationToken)
    {
        // No ::bigint: sum(bigint) is numeric, and an account's total may pass 2^63 even when each entry cannot.
        await using var command = database.CreateCommand("""
            SELECT currency,
                   coalesce(sum(amount) FILTER (WHERE direction = 'debit'), 0),
                   coalesce(sum(amount) FILTER (WHERE direction = 'credit'), 0)
            FROM ledger_entries WHERE account = $1
            GROUP BY currency ORDER BY currency
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = account });
        var rows = new List<AccountBalanceRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new AccountBalanceRow(reader.GetString(0).Trim(), reader.GetFieldValue<BigInteger>(1), reader.GetFieldValue<BigInteger>(2)));
        }

        return rows;
    }

    public Task<IReadOnlyList<TransactionRow>> TransactionsForPaymentOrderAsync(string paymentOrderId, CancellationToken cancellationToken) =>
        TransactionsAsync("payment_order_id = $1", paymentOrderId, cancellationToken);

    /// <summary>A payout's bookings: its reservation, and whichever of paid, failed and returned happened (by their external ids).</summary>
    public Task<IReadOnlyList<TransactionRow>> TransactionsForPayoutAsync(string payoutId, CancellationToken cancellationToken) =>
        TransactionsAsync("external_id IN ('payout:' || $1, 'payout_paid:' || $1, 'payout_failed:' || $1, 'payout_returned:' || $1)", payoutId, cancellationToken);

    /// <summary>The settlement of the PSP's payout to our bank (booked by reconciliation).</summary>
    public Task<IReadOnlyList<TransactionRow>> TransactionsForSettlementAsync(string automaticPayoutId, CancellationToken cancellationToken) =>
        TransactionsAsync("external_id = 'settlement:' || $1", automaticPayoutId, cancellationToken);

    private async Task<IReadOnlyList<TransactionRow>> TransactionsAsync(string filter, string reference, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT t.transaction_id, t.external_id, t.kind, t.created_at, e.account, e.direction, e.amount, e.currency
            FROM (SELECT * FROM ledger_transactions WHERE {filter} ORDER BY transaction_id LIMIT {TransactionsPageMax}) t
            JOIN ledger_entries e ON e.transaction_id = t.transaction_id
            ORDER BY t.transaction_id, e.entry_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = reference });
        var transactions = new List<TransactionRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetInt64(0);
            if (transactions.Count == 0 || transactions[^1].TransactionId != id)
            {
                transactions.Add(new TransactionRow(id, reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTime>(3), []));
            }

            transactions[^1].Entries.Add(new EntryRow(reader.GetString(4), reader.GetString(5), reader.GetInt64(6), reader.GetString(7).Trim()));
        }

        return transactions;
    }

    /// <summary>(transaction, currency) pairs whose debits and credits differ; the trigger should make this empty.</summary>
    public Task<IReadOnlyList<string>> UnbalancedTransactionsAsync(CancellationToken cancellationToken) => ListAsync("""
        SELECT t.external_id || ' ' || e.currency
        FROM ledger_entries e JOIN ledger_transactions t ON t.transaction_id = e.transaction_id
        GROUP BY t.external_id, e.currency
        HAVING sum(CASE WHEN e.direction = 'debit' THEN e.amount ELSE -e.amount END) <> 0
        LIMIT 20
        """, cancellationToken);

    public Task<IReadOnlyList<string>> NonZeroCurrencyTotalsAsync(CancellationToken cancellationToken) => ListAsync("""
        SELECT currency || ' ' || sum(CASE WHEN direction = 'debit' THEN amount ELSE -amount END)
        FROM ledger_entries GROUP BY currency
        HAVING sum(CASE WHEN direction = 'debit' THEN amount ELSE -amount END) <> 0
        """, cancellationToken);

    /// <summary>Payment orders booked as paid in more than once, or PSP references booked for two orders.</summary>
    public Task<IReadOnlyList<string>> DoubleChargesAsync(CancellationToken cancellationToken) => ListAsync("""
        SELECT 'payment order ' || payment_order_id || ' paid in ' || count(*) || ' times'
        FROM ledger_transactions WHERE kind = 'payin'
        GROUP BY payment_order_id HAVING count(*) > 1
        UNION ALL
        SELECT 'psp reference ' || psp_reference || ' booked for ' || count(DISTINCT payment_order_id) || ' orders'
        FROM ledger_transactions WHERE kind = 'payin' AND psp_reference IS NOT NULL
        GROUP BY psp_reference HAVING count(DISTINCT payment_order_id) > 1
        LIMIT 20
        """, cancellationToken);

    /// <summary>
    /// What the ledger says each seller has, by seller and currency: the net credit (credits - debits) of its pending,
    /// available and reserved accounts, and what payouts moved from reserved to the bank less what the bank returned.
    /// </summary>
    public async Task<IReadOnlyList<SellerLedgerBalances>> SellerBalancesAsync(CancellationToken cancellationToken)
    {
        // Every seller, a page at a time by (seller, currency): a fixed LIMIT would leave sellers unchecked without saying so.
        var rows = new List<SellerLedgerBalances>();
        while (true)
        {
            var page = await SellerBalancesPageAsync(rows.Count == 0 ? null : (rows[^1].Seller, rows[^1].Currency), cancellationToken);
            rows.AddRange(page);
            if (page.Count < SellerBalancesPageSize)
            {
                return rows;
            }
        }
    }

    private const int SellerBalancesPageSize = 2000;

    private async Task<IReadOnlyList<SellerLedgerBalances>> SellerBalancesPageAsync((string Seller, string Currency)? after, CancellationToken cancellationToken)
    {
        // Kept numeric (no ::bigint): a sum past 2^63 would fail the whole query, and with it the invariants route.
        await using var command = database.CreateCommand($"""
            SELECT split_part(e.account, ':', 2) AS seller, e.currency,
                   coalesce(sum(CASE WHEN e.direction = 'credit' THEN e.amount ELSE -e.amount END) FILTER (WHERE e.account LIKE '%:pending'), 0),
                   coalesce(sum(CASE WHEN e.direction = 'credit' THEN e.amount ELSE -e.amount END) FILTER (WHERE e.account LIKE '%:available'), 0),
                   coalesce(sum(CASE WHEN e.direction = 'credit' THEN e.amount ELSE -e.amount END) FILTER (WHERE e.account LIKE '%:reserved'), 0),
                   (coalesce(sum(e.amount) FILTER (WHERE t.kind = 'payout_paid' AND e.direction = 'debit'), 0)
                    - coalesce(sum(e.amount) FILTER (WHERE t.kind = 'payout_returned' AND e.direction = 'credit'), 0))
            FROM ledger_entries e JOIN ledger_transactions t ON t.transaction_id = e.transaction_id
            WHERE e.account LIKE 'seller\_payable:%'
              AND ($1::text IS NULL OR (split_part(e.account, ':', 2) COLLATE "C", e.currency::text COLLATE "C") > ($1::text COLLATE "C", $2::text COLLATE "C"))
            GROUP BY 1, 2 ORDER BY split_part(e.account, ':', 2) COLLATE "C", e.currency::text COLLATE "C"
            LIMIT {SellerBalancesPageSize}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)after?.Seller ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)after?.Currency ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var rows = new List<SellerLedgerBalances>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new SellerLedgerBalances(reader.GetString(0), reader.GetString(1).Trim(), reader.GetFieldValue<BigInteger>(2), reader.GetFieldValue<BigInteger>(3),
                reader.GetFieldValue<BigInteger>(4), reader.GetFieldValue<BigInteger>(5)));
        }

        return rows;
    }

    private async Task<IReadOnlyList<string>> ListAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(sql);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}
