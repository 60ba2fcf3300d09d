using Npgsql;

namespace Payments.Api.Ledger;

public sealed record AccountBalanceRow(string Currency, long DebitsMinor, long CreditsMinor);

public sealed record EntryRow(string Account, string Direction, long AmountMinor, string Currency);

public sealed record TransactionRow(long TransactionId, string ExternalId, string Kind, DateTime CreatedAt, List<EntryRow> Entries);

/// <summary>Read-side SQL over the ledger tables; the ledger writer grain is the only writer.</summary>
public sealed class LedgerQueries(NpgsqlDataSource database)
{
    public const int TransactionsPageMax = 500;

    public async Task<IReadOnlyList<AccountBalanceRow>> AccountBalancesAsync(string account, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT currency,
                   coalesce(sum(amount) FILTER (WHERE direction = 'debit'), 0)::bigint,
                   coalesce(sum(amount) FILTER (WHERE direction = 'credit'), 0)::bigint
            FROM ledger_entries WHERE account = $1
            GROUP BY currency ORDER BY currency
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = account });
        var rows = new List<AccountBalanceRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new AccountBalanceRow(reader.GetString(0).Trim(), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return rows;
    }

    public async Task<IReadOnlyList<TransactionRow>> TransactionsForPaymentOrderAsync(string paymentOrderId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT t.transaction_id, t.external_id, t.kind, t.created_at, e.account, e.direction, e.amount, e.currency
            FROM (SELECT * FROM ledger_transactions WHERE payment_order_id = $1 ORDER BY transaction_id LIMIT {TransactionsPageMax}) t
            JOIN ledger_entries e ON e.transaction_id = t.transaction_id
            ORDER BY t.transaction_id, e.entry_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = paymentOrderId });
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

    /// <summary>Net credit (credits - debits) of every seller's pending and available accounts, by seller and currency.</summary>
    public async Task<IReadOnlyList<(string Seller, string Currency, long PendingMinor, long AvailableMinor)>> SellerBalancesAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT split_part(account, ':', 2) AS seller, currency,
                   coalesce(sum(CASE WHEN direction = 'credit' THEN amount ELSE -amount END) FILTER (WHERE account LIKE '%:pending'), 0)::bigint,
                   coalesce(sum(CASE WHEN direction = 'credit' THEN amount ELSE -amount END) FILTER (WHERE account LIKE '%:available'), 0)::bigint
            FROM ledger_entries
            WHERE account LIKE 'seller\_payable:%'
            GROUP BY 1, 2 ORDER BY 1, 2
            LIMIT 10000
            """);
        var rows = new List<(string, string, long, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((reader.GetString(0), reader.GetString(1).Trim(), reader.GetInt64(2), reader.GetInt64(3)));
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
