using System.Text.Json.Serialization;
using Payments.PspSimulator.Balance;
using Payments.PspSimulator.Payouts;
using Payments.PspSimulator.Reporting;

namespace Payments.PspSimulator;

/// <summary>
/// One line of the state file (<see cref="SimulatorLogFile"/>): one committed transaction.
/// </summary>
/// <remarks>
/// Format version 1: <c>{"v":1,"intents":[...],"sessions":[...],"refunds":[...],"payouts":[...],"events":[...],
/// "event_deliveries":[...],"attempts":{"counter":n},"idempotency":{"key","fingerprint","status_code",
/// "body","retry_after_seconds"},"balance_transactions":[...],"automatic_payouts":[...],"report_runs":[...],
/// "clock_offset":"1.00:00:00","payouts_through":"2026-11-20"}</c>; each part is left out when empty (so files written before
/// sessions, refunds, payouts, events, balance transactions, the clock and reports existed still read, and still are version 1). Records are full
/// snapshots (the last one for an id wins), counters are absolute values. An event's body never changes,
/// so a new state of a known event (a delivery attempt) is written as <c>event_deliveries</c>, its
/// delivery fields only.
/// </remarks>
internal sealed record SimulatorLogLine
{
    public const int FormatVersion = 1;

    [JsonPropertyName("v")]
    public int Version { get; init; }

    public IReadOnlyList<SimulatedPaymentIntent>? Intents { get; init; }

    public IReadOnlyList<SimulatedCheckoutSession>? Sessions { get; init; }

    public IReadOnlyList<SimulatedRefund>? Refunds { get; init; }

    public IReadOnlyList<SimulatedPayout>? Payouts { get; init; }

    public IReadOnlyList<SimulatedEvent>? Events { get; init; }

    public IReadOnlyList<SimulatorLogEventDelivery>? EventDeliveries { get; init; }

    public IReadOnlyDictionary<string, int>? Attempts { get; init; }

    public SimulatorLogIdempotency? Idempotency { get; init; }

    public IReadOnlyList<SimulatedBalanceTransaction>? BalanceTransactions { get; init; }

    public IReadOnlyList<SimulatedAutomaticPayout>? AutomaticPayouts { get; init; }

    public IReadOnlyList<SimulatedReportRun>? ReportRuns { get; init; }

    /// <summary>The simulator clock's offset from real time (absolute, as counters are).</summary>
    public TimeSpan? ClockOffset { get; init; }

    public DateOnly? PayoutsThrough { get; init; }
}

/// <summary>The fields of a <see cref="SimulatedEvent"/> that its delivery changes.</summary>
internal sealed record SimulatorLogEventDelivery
{
    public required string Id { get; init; }

    public string? Url { get; init; }

    public int Attempts { get; init; }

    public int Deliveries { get; init; }

    public int Failures { get; init; }

    public DateTimeOffset? NextAttemptAt { get; init; }

    public static SimulatorLogEventDelivery From(SimulatedEvent webhookEvent) => new()
    {
        Id = webhookEvent.Id,
        Url = webhookEvent.Url,
        Attempts = webhookEvent.Attempts,
        Deliveries = webhookEvent.Deliveries,
        Failures = webhookEvent.Failures,
        NextAttemptAt = webhookEvent.NextAttemptAt,
    };

    public SimulatedEvent ApplyTo(SimulatedEvent webhookEvent) => webhookEvent with
    {
        Url = Url,
        Attempts = Attempts,
        Deliveries = Deliveries,
        Failures = Failures,
        NextAttemptAt = NextAttemptAt,
    };
}

/// <summary>A stored answer under its idempotency key, as the file keeps it.</summary>
internal sealed record SimulatorLogIdempotency
{
    public required string Key { get; init; }

    public required string Fingerprint { get; init; }

    public required int StatusCode { get; init; }

    public required string Body { get; init; }

    public int? RetryAfterSeconds { get; init; }

    public static SimulatorLogIdempotency From(IdempotencyRecord record) => new()
    {
        Key = record.Key,
        Fingerprint = record.Fingerprint,
        StatusCode = record.Response.StatusCode,
        Body = record.Response.Body,
        RetryAfterSeconds = record.Response.RetryAfterSeconds,
    };

    public IdempotencyRecord ToRecord() => new(Key, Fingerprint, new SimulatorResponse(StatusCode, Body, RetryAfterSeconds));
}

/// <summary>An answer kept under its idempotency key, with what made the request "the same".</summary>
internal sealed record IdempotencyRecord(string Key, string Fingerprint, SimulatorResponse Response);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SimulatorLogLine))]
internal sealed partial class SimulatorStoreJson : JsonSerializerContext;
