using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Payments.Core.Idempotency;
using Payments.Grains;
using Payments.Grains.Idempotency;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>A server whose Idempotency-Keys are kept 4 s (and swept with no margin), so that expiry plays out within a test.</summary>
public sealed class IdempotencyExpiryServerFixture : DedicatedServerFixture
{
    public static readonly TimeSpan Retention = TimeSpan.FromSeconds(4);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Idempotency:Retention"] = Retention.ToString(),
        ["Idempotency:SweepMargin"] = "00:00:00",
    };
}

public sealed class IdempotencyExpiryTests(IdempotencyExpiryServerFixture fixture) : IClassFixture<IdempotencyExpiryServerFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly HttpClient _merchant = fixture.Server.CreateClient();
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();
    private IGrainFactory Grains => fixture.Server.Server.Services.GetRequiredService<IGrainFactory>();

    [Fact]
    public async Task A_key_replays_within_its_retention_and_runs_anew_after_it()
    {
        var key = Ids.New("key");
        var (firstOrder, secondOrder) = (Ids.New("po"), Ids.New("po"));
        var firstBody = ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (firstOrder, Ids.New("seller"), "1.00", "USD"));
        var secondBody = ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (secondOrder, Ids.New("seller"), "2.00", "USD"));

        using var first = await _merchant.PostJsonAsync("/v1/payments", firstBody, key);
        using var replay = await _merchant.PostJsonAsync("/v1/payments", firstBody, key);
        using var reused = await _merchant.PostJsonAsync("/v1/payments", secondBody, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await replay.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);

        // Once the first answer is older than the retention the key is unused again: another request with it runs. Until
        // then each try is the same 422 (it changes nothing), so polling is safe.
        var status = await Eventually.MatchesAsync(async () =>
        {
            using var again = await _merchant.PostJsonAsync("/v1/payments", secondBody, key);
            return (again.StatusCode, Replayed: again.Headers.Contains("Idempotent-Replayed"), Body: await again.JsonAsync());
        }, answer => answer.StatusCode != HttpStatusCode.UnprocessableEntity, Patience, "the key to expire");

        Assert.Equal(HttpStatusCode.Created, status.StatusCode);
        Assert.False(status.Replayed);
        Assert.Equal(secondOrder, status.Body.GetProperty("orders")[0].Str("payment_order_id"));
        Assert.Single(await _psp.PaymentIntentsForAsync(secondOrder));
        Assert.Single(await _psp.PaymentIntentsForAsync(firstOrder));
        // The new answer is the key's now.
        using var replayOfSecond = await _merchant.PostJsonAsync("/v1/payments", secondBody, key);
        Assert.Equal("true", Assert.Single(replayOfSecond.Headers.GetValues("Idempotent-Replayed")));
    }

    [Fact]
    public async Task The_sweep_deletes_expired_records_and_leaves_fresh_and_locked_ones_and_a_swept_key_works_again()
    {
        var (expired, cleared, locked, fresh) = (Ids.New("key"), Ids.New("key"), Ids.New("key"), Ids.New("key"));
        var orderId = Ids.New("po");
        var body = ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, Ids.New("seller"), "3.00", "USD"));
        using (var response = await _merchant.PostJsonAsync("/v1/payments", body, expired))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        // A key whose request gave up (its row stays, cleared) and one whose request is still running (locked, never completed).
        var abandoning = Grains.GetGrain<IIdempotencyKeyGrain>(IdempotencyKeys.GrainKey("merchant_a", cleared));
        var begun = await abandoning.BeginAsync(new BeginRequest("fp_cleared", TimeSpan.FromMinutes(1)));
        await abandoning.AbandonAsync(begun.LockToken!);
        var holding = await Grains.GetGrain<IIdempotencyKeyGrain>(IdempotencyKeys.GrainKey("merchant_a", locked))
            .BeginAsync(new BeginRequest("fp_locked", TimeSpan.FromMinutes(1)));
        Assert.Equal(BeginRequestOutcome.Started, holding.Outcome);

        // The database's clock decides what the sweep may delete: wait until it says all three are past the retention.
        await Eventually.MatchesAsync(() => CountAsync($"modified_at < now() - interval '{Retention.TotalSeconds} seconds'", expired, cleared, locked),
            count => count == 3, Patience, "three rows past the retention");
        using (var response = await _merchant.PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (Ids.New("po"), Ids.New("seller"), "1.00", "USD")), fresh))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        var before = await CountAsync("true");
        var deleted = await Grains.GetGrain<IIdempotencyExpiryGrain>(IdempotencyExpiryGrain.Key).SweepAsync();
        var after = await CountAsync("true");

        Assert.Equal(before - deleted, after);
        Assert.Equal(0, await CountAsync("true", expired, cleared));
        Assert.Equal(2, await CountAsync("true", locked, fresh));
        // The lock is untouched: the request holding it is still the only one who may complete the key.
        var contender = await Grains.GetGrain<IIdempotencyKeyGrain>(IdempotencyKeys.GrainKey("merchant_a", locked))
            .BeginAsync(new BeginRequest("fp_locked", TimeSpan.FromMinutes(1)));
        Assert.Equal(BeginRequestOutcome.InProgress, contender.Outcome);

        // The expired key's grain is still active, holding the version of a row that is gone: its next write must work.
        using var anew = await _merchant.PostJsonAsync("/v1/payments", body, expired);
        Assert.Equal(HttpStatusCode.Created, anew.StatusCode);
        Assert.False(anew.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, await CountAsync("true", expired));
        // Run again, the checkout converged on what the first run made: one charge.
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Fact]
    public async Task Every_silo_start_registers_the_sweeps_reminder_once()
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT period_ms FROM orleans_reminder WHERE reminder_name = 'idempotency_expiry'", connection);
        var periods = new List<long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            periods.Add(reader.GetInt64(0));
        }

        Assert.Equal((long)TimeSpan.FromMinutes(15).TotalMilliseconds, Assert.Single(periods));
    }

    private static TimeSpan Retention => IdempotencyExpiryServerFixture.Retention;

    /// <summary>Idempotency rows matching <paramref name="condition"/>, of the given keys (all keys when none is given).</summary>
    private async Task<long> CountAsync(string condition, params string[] keys)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.Server.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT count(*) FROM orleans_grain_state WHERE grain_type = 'idempotencyKey' AND ({condition})"
            + (keys.Length == 0 ? string.Empty : " AND grain_id_ext = ANY ($1)"), connection);
        if (keys.Length > 0)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(key => IdempotencyKeys.GrainKey("merchant_a", key)).ToArray() });
        }

        return (long)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>The retention and the sweep's settings are checked at start, like every other option.</summary>
public sealed class IdempotencyOptionsValidationTests
{
    [Theory]
    [InlineData("Idempotency:Retention", "00:00:00")]
    [InlineData("Idempotency:Retention", "-01:00:00")]
    [InlineData("Idempotency:SweepPeriod", "00:00:00")]
    [InlineData("Idempotency:SweepMargin", "-00:00:01")]
    [InlineData("Idempotency:SweepBatchSize", "0")]
    public void A_bad_setting_is_refused(string setting, string value)
    {
        using var services = Services(new Dictionary<string, string?> { [setting] = value });
        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<IdempotencyOptions>>().Value);
    }

    [Fact]
    public void The_defaults_keep_keys_a_day_and_the_sweep_knows_the_gateways_lock_timeout()
    {
        using var services = Services(new Dictionary<string, string?> { ["Api:IdempotencyLockTimeout"] = "00:05:00" });
        var options = services.GetRequiredService<IOptions<IdempotencyOptions>>().Value;
        Assert.Equal(TimeSpan.FromHours(24), options.Retention);
        Assert.Equal(TimeSpan.FromMinutes(5), options.LockTimeout);
        Assert.Equal(1000, options.SweepBatchSize);
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings) =>
        new ServiceCollection().AddLogging().AddPaymentGrains(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()).BuildServiceProvider();
}
