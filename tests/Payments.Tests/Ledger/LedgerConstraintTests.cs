using Npgsql;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Ledger;

/// <summary>The database itself refuses what would break the ledger, whoever writes to it.</summary>
[Collection(ServerCollection.Name)]
public sealed class LedgerConstraintTests(ServerFixture fixture)
{
    [Fact]
    public async Task An_unbalanced_transaction_is_rejected_at_commit()
    {
        var externalId = Ids.New("test");
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteInTransactionAsync(
            $"INSERT INTO ledger_transactions (external_id, kind) VALUES ('{externalId}', 'test')",
            $"INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency) SELECT transaction_id, 'a', 'debit', 100, 'USD' FROM ledger_transactions WHERE external_id = '{externalId}'",
            $"INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency) SELECT transaction_id, 'b', 'credit', 99, 'USD' FROM ledger_transactions WHERE external_id = '{externalId}'"));

        Assert.Contains("does not balance", error.MessageText, StringComparison.Ordinal);
        Assert.Equal(0L, await CountAsync($"SELECT count(*) FROM ledger_transactions WHERE external_id = '{externalId}'"));
    }

    [Fact]
    public async Task A_transaction_balanced_in_total_but_not_per_currency_is_rejected()
    {
        var externalId = Ids.New("test");
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteInTransactionAsync(
            $"INSERT INTO ledger_transactions (external_id, kind) VALUES ('{externalId}', 'test')",
            $"INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency) SELECT transaction_id, 'a', 'debit', 100, 'USD' FROM ledger_transactions WHERE external_id = '{externalId}'",
            $"INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency) SELECT transaction_id, 'b', 'credit', 100, 'EUR' FROM ledger_transactions WHERE external_id = '{externalId}'"));

        Assert.Contains("does not balance", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_transaction_without_entries_is_rejected()
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteInTransactionAsync(
            $"INSERT INTO ledger_transactions (external_id, kind) VALUES ('{Ids.New("test")}', 'test')"));

        Assert.Contains("has no entries", error.MessageText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UPDATE ledger_entries SET amount = amount + 1 WHERE transaction_id = {0}")]
    [InlineData("DELETE FROM ledger_entries WHERE transaction_id = {0}")]
    [InlineData("UPDATE ledger_transactions SET kind = 'rewritten' WHERE transaction_id = {0}")]
    [InlineData("DELETE FROM ledger_transactions WHERE transaction_id = {0}")]
    [InlineData("TRUNCATE ledger_entries, ledger_transactions")]
    public async Task Ledger_rows_can_be_neither_updated_nor_deleted(string statement)
    {
        var externalId = Ids.New("test");
        await ExecuteInTransactionAsync(
            $"INSERT INTO ledger_transactions (external_id, kind) VALUES ('{externalId}', 'test')",
            $"INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency) SELECT transaction_id, 'a', 'debit', 100, 'USD' FROM ledger_transactions WHERE external_id = '{externalId}'",
            $"INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency) SELECT transaction_id, 'b', 'credit', 100, 'USD' FROM ledger_transactions WHERE external_id = '{externalId}'");
        var transactionId = await CountAsync($"SELECT transaction_id FROM ledger_transactions WHERE external_id = '{externalId}'");

        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteInTransactionAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, statement, transactionId)));

        Assert.Contains("append-only", error.MessageText, StringComparison.Ordinal);
        Assert.Equal(200L, await CountAsync($"SELECT sum(amount) FROM ledger_entries WHERE transaction_id = {transactionId}"));
    }

    private async Task ExecuteInTransactionAsync(params string[] statements)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var statement in statements)
        {
            await using var command = new NpgsqlCommand(statement, connection, transaction);
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>The invariants endpoint does report a break: a ledger booking with no wallet behind it.</summary>
[Collection(ServerCollection.Name)]
public sealed class InvariantReportTests(ServerFixture fixture)
{
    [Fact]
    public async Task A_ledger_booking_the_wallet_never_saw_breaks_wallets_match_ledger_until_it_is_reversed()
    {
        var seller = Ids.New("seller");
        var operatorClient = fixture.Server.CreateClient(TestServer.OperatorKey);

        await BookAsync(Ids.New("test"), "psp_receivable:stripe", $"seller_payable:{seller}:pending");
        var broken = await operatorClient.GetJsonAsync("/v1/ops/invariants");
        await BookAsync(Ids.New("test"), $"seller_payable:{seller}:pending", "psp_receivable:stripe");
        var repaired = await operatorClient.GetJsonAsync("/v1/ops/invariants");

        Assert.False(broken.GetProperty("ok").GetBoolean());
        var check = broken.GetProperty("checks").EnumerateArray().Single(c => c.Str("name") == "wallets_match_ledger");
        Assert.False(check.GetProperty("ok").GetBoolean());
        Assert.Contains(seller, check.Str("detail"), StringComparison.Ordinal);
        Assert.True(repaired.GetProperty("ok").GetBoolean(), repaired.ToString());
    }

    /// <summary>A balanced 1.00 USD transaction written straight into the ledger, behind the grains' back.</summary>
    private async Task BookAsync(string externalId, string debit, string credit)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand($"""
            WITH t AS (INSERT INTO ledger_transactions (external_id, kind) VALUES ('{externalId}', 'test') RETURNING transaction_id)
            INSERT INTO ledger_entries (transaction_id, account, direction, amount, currency)
            SELECT transaction_id, '{debit}', 'debit', 100, 'USD' FROM t
            UNION ALL SELECT transaction_id, '{credit}', 'credit', 100, 'USD' FROM t
            """, connection, transaction);
        await command.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }
}
