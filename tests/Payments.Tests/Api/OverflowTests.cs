using System.Net;
using Npgsql;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>
/// Sums of ledger amounts past 2^63 minor units (each amount fits a bigint; two of them need not) are shown, not a 500.
/// Rows are seeded in SQL, balanced per transaction, on accounts nobody else reads, so the shared server stays green.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class OverflowTests(ServerFixture fixture)
{
    /// <summary>Each under long.MaxValue (9,223,372,036,854,775,807); two of them are not.</summary>
    private const long Huge = 5_000_000_000_000_000_000;

    [Fact]
    public async Task An_account_balance_past_64_bits_is_shown_in_full()
    {
        var id = Ids.New("ovf");
        var (debited, credited) = ($"overflow_test:{id}:debited", $"overflow_test:{id}:credited");
        await LedgerSeed.BalancedAsync(fixture.Server.Server.DatabaseConnectionString, Ids.New("ovf_tx"), debited, credited, Huge, "USD");
        await LedgerSeed.BalancedAsync(fixture.Server.Server.DatabaseConnectionString, Ids.New("ovf_tx"), debited, credited, Huge, "USD");
        await LedgerSeed.BalancedAsync(fixture.Server.Server.DatabaseConnectionString, Ids.New("ovf_tx"), debited, credited, Huge, "JPY");
        await LedgerSeed.BalancedAsync(fixture.Server.Server.DatabaseConnectionString, Ids.New("ovf_tx"), debited, credited, Huge, "JPY");
        using var operatorClient = fixture.Server.CreateClient(TestServer.OperatorKey);

        var debitedBalance = await operatorClient.GetJsonAsync($"/v1/ledger/accounts/{debited}/balance");
        var creditedBalance = await operatorClient.GetJsonAsync($"/v1/ledger/accounts/{credited}/balance");

        // 10,000,000,000,000,000,000 minor units: 100,000,000,000,000,000.00 USD, 10,000,000,000,000,000,000 JPY.
        Assert.Equal(
            $$"""{"account":"{{debited}}","balances":[{"currency":"JPY","debits":"10000000000000000000","credits":"0","net":"10000000000000000000"},{"currency":"USD","debits":"100000000000000000.00","credits":"0.00","net":"100000000000000000.00"}]}""",
            debitedBalance.GetRawText());
        Assert.Equal(
            $$"""{"account":"{{credited}}","balances":[{"currency":"JPY","debits":"0","credits":"10000000000000000000","net":"-10000000000000000000"},{"currency":"USD","debits":"0.00","credits":"100000000000000000.00","net":"-100000000000000000.00"}]}""",
            creditedBalance.GetRawText());
        // Balanced rows on accounts no wallet mirrors: the shared server's invariants stay green, and are computed without overflow.
        await operatorClient.AssertInvariantsAsync();
    }
}

/// <summary>Ledger rows written straight into PostgreSQL (the balance trigger still checks them at commit).</summary>
internal static class LedgerSeed
{
    public static async Task BalancedAsync(string connectionString, string externalId, string debitAccount, string creditAccount, long amountMinor, string currency,
        string kind = "test", string? paymentOrderId = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO ledger_transactions (external_id, kind, payment_order_id) VALUES ($1, $2, $3) RETURNING transaction_id", connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = externalId });
            insert.Parameters.Add(new NpgsqlParameter { Value = kind });
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)paymentOrderId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            var transactionId = (long)(await insert.ExecuteScalarAsync())!;
            foreach (var (account, direction) in new[] { (debitAccount, "debit"), (creditAccount, "credit") })
            {
                await using var entry = new NpgsqlCommand(
                    "INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency) VALUES ($1, $2, $3, $4, $5)", connection, transaction);
                entry.Parameters.Add(new NpgsqlParameter { Value = transactionId });
                entry.Parameters.Add(new NpgsqlParameter { Value = account });
                entry.Parameters.Add(new NpgsqlParameter { Value = direction });
                entry.Parameters.Add(new NpgsqlParameter { Value = amountMinor });
                entry.Parameters.Add(new NpgsqlParameter { Value = currency });
                await entry.ExecuteNonQueryAsync();
            }
        }

        await transaction.CommitAsync();
    }
}
