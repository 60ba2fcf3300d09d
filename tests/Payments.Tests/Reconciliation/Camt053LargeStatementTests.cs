using System.Diagnostics;
using System.Globalization;
using Payments.Reconciliation.BankStatements;

namespace Payments.Tests.Reconciliation;

/// <summary>A statement far larger than any fixture, written to a temporary file and streamed back.</summary>
public sealed class Camt053LargeStatementTests : IDisposable
{
    // 100,000 entries (about 20 MB) keep the test near 2 s on a small machine; the reader's memory does not depend on it.
    private const int EntryCount = 100_000;

    private readonly string path = Path.Combine(Path.GetTempPath(), $"camt053-large-{Guid.NewGuid():N}.xml");

    public void Dispose() => File.Delete(path);

    [Fact]
    public async Task Streams_a_statement_of_100000_entries_entry_by_entry()
    {
        var expectedSum = await WriteStatementAsync();
        var fileLength = new FileInfo(path).Length;

        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096, useAsync: true);
        var reader = new Camt053Reader(file);
        long count = 0;
        long sum = 0;
        long positionAtFirstEntry = -1;
        StatementEntry? last = null;
        var clock = Stopwatch.StartNew();
        await foreach (var entry in reader.ReadEntriesAsync())
        {
            if (count == 0)
            {
                positionAtFirstEntry = file.Position;
            }

            count++;
            sum += entry.SignedMinor;
            last = entry;
        }

        clock.Stop();
        Assert.Equal(EntryCount, count);
        Assert.Equal(expectedSum, sum);
        Assert.Equal((EntryCount - 1, $"po_{EntryCount - 1}"), (last!.Index, last.Transactions[0].EndToEndId));
        // The first entry came from the first buffers of a file of megabytes: it is not read whole first.
        Assert.InRange(positionAtFirstEntry, 1, 1024 * 1024);
        Assert.True(fileLength > 15L * 1024 * 1024, $"the generated statement is {fileLength} bytes");
        // Not a timing assertion (machines differ); shown when the test is run with detailed output.
        Console.WriteLine($"{count} entries of a {fileLength / (1024 * 1024)} MB statement read in {clock.ElapsedMilliseconds} ms");
    }

    // Entries of 0.01 EUR, 0.02 EUR... (one cent more each), every third a debit; returns their signed sum in cents.
    private async Task<long> WriteStatementAsync()
    {
        long sum = 0;
        await using var writer = new StreamWriter(path);
        await writer.WriteAsync(StatementFixtures.StatementOpening(StatementFixtures.V2Namespace));
        for (var i = 0; i < EntryCount; i++)
        {
            var cents = 1 + i;
            var debit = i % 3 == 0;
            sum += debit ? -cents : cents;
            var amount = string.Create(CultureInfo.InvariantCulture, $"{cents / 100}.{cents % 100:D2}");
            await writer.WriteAsync(
                $"""
                <Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{(debit ? "DBIT" : "CRDT")}</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-20</Dt></BookgDt><NtryDtls><TxDtls><Refs><EndToEndId>po_{i}</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>

                """);
        }

        await writer.WriteAsync(StatementFixtures.StatementClosing);
        return sum;
    }
}
