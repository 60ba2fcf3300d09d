using Npgsql;

namespace Payments.Reconciliation.Runs;

public enum ResolveBreakOutcome
{
    Resolved = 0,

    /// <summary>Resolved before, with the same resolution: nothing changed.</summary>
    AlreadyResolved = 1,

    /// <summary>Resolved before, otherwise: a resolution is final.</summary>
    ResolvedOtherwise = 2,

    NotFound = 3,
}

/// <summary>The breaks for operators: the queues (by class and status), a run's findings, and resolving one.</summary>
public sealed class ReconciliationBreakStore(NpgsqlDataSource database)
{
    public const int LimitMax = 1000;

    private const string Columns = """
        b.break_id, b.run_id, b.source, b.kind, b.class, b.status, b.payment_order_id, b.payout_id, b.ours::text, b.theirs::text,
        b.fix::text, b.resolution, b.note, b.created_at, b.resolved_at
        """;

    /// <summary>Oldest first; <see cref="BreakFilter.RunId"/> is every break that run found (filed by it or before it).</summary>
    public async Task<(IReadOnlyList<ReconciliationBreak> Breaks, bool HasMore)> ListAsync(BreakFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var command = database.CreateCommand($"""
            SELECT {Columns} FROM reconciliation_breaks b
            WHERE ($1::text IS NULL OR b.class = $1)
              AND ($2::text IS NULL OR b.status = $2)
              AND ($3::text IS NULL OR b.payment_order_id = $3)
              AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM reconciliation_run_breaks rb WHERE rb.run_id = $4 AND rb.break_id = b.break_id))
              AND ($5::text IS NULL OR b.seq > (SELECT seq FROM reconciliation_breaks WHERE break_id = $5))
            ORDER BY b.seq
            LIMIT $6
            """);
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = filter.Class });
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = filter.Status });
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = filter.PaymentOrderId });
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = filter.RunId });
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = filter.StartingAfter });
        command.Parameters.Add(new NpgsqlParameter { Value = filter.Limit + 1 });
        await using var reader = await command.ExecuteReaderAsync();
        var breaks = new List<ReconciliationBreak>();
        while (await reader.ReadAsync())
        {
            breaks.Add(Read(reader));
        }

        var hasMore = breaks.Count > filter.Limit;
        return (hasMore ? breaks[..filter.Limit] : breaks, hasMore);
    }

    public async Task<ReconciliationBreak?> GetAsync(string breakId)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM reconciliation_breaks b WHERE b.break_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = breakId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    /// <summary>Closes an open break with a person's resolution. Moves no money: a correction is its own ledger transaction.</summary>
    public async Task<(ResolveBreakOutcome Outcome, ReconciliationBreak? Break)> ResolveAsync(string breakId, string resolution, string? note, DateTimeOffset now)
    {
        await using (var command = database.CreateCommand("""
            UPDATE reconciliation_breaks
            SET status = 'resolved', resolution = $2, note = $3, resolved_at = $4, fix_due = false
            WHERE break_id = $1 AND status = 'open'
            """))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = breakId });
            command.Parameters.Add(new NpgsqlParameter { Value = resolution });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = note });
            command.Parameters.Add(new NpgsqlParameter { Value = now });
            if (await command.ExecuteNonQueryAsync() == 1)
            {
                return (ResolveBreakOutcome.Resolved, await GetAsync(breakId));
            }
        }

        var existing = await GetAsync(breakId);
        return existing is null ? (ResolveBreakOutcome.NotFound, null)
            : existing.Resolution == resolution && existing.Note == note ? (ResolveBreakOutcome.AlreadyResolved, existing)
            : (ResolveBreakOutcome.ResolvedOtherwise, existing);
    }

    private static ReconciliationBreak Read(NpgsqlDataReader reader)
    {
        string? Text(int index) => reader.IsDBNull(index) ? null : reader.GetString(index);
        return new ReconciliationBreak(
            reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
            Text(6), Text(7), Text(8), Text(9), Text(10), Text(11), Text(12),
            reader.GetFieldValue<DateTimeOffset>(13), reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14));
    }
}
