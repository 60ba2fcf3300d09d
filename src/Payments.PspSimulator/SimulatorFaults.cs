using System.Text.Json;
using System.Text.Json.Nodes;

namespace Payments.PspSimulator;

/// <summary>
/// The simulator-wide chaos profile set by <c>POST /_sim/faults</c>. Every field defaults to none
/// (0 / false). Not part of the PSP's state: a new simulator starts without faults.
/// </summary>
/// <param name="LatencyMs">Delay before handling every <c>/v1</c> request, replays included.</param>
/// <param name="ErrorRate">
/// Probability that a create or confirm that would execute (not a replay of a stored answer) is
/// answered HTTP 500 <c>api_error</c> before anything happens: nothing is charged or stored, so a
/// retry with the same Idempotency-Key executes for real.
/// </param>
/// <param name="TimeoutAfterChargeRate">
/// Probability that a create or confirm that executed (and was not answered 5xx) loses its answer:
/// the charge is made and the answer stored under its Idempotency-Key, then the connection is
/// aborted. A retry with the same key gets the stored answer.
/// </param>
/// <param name="WebhookDuplicateRate">
/// Probability that an event, when it happens, is owed two deliveries: the receiver gets two
/// separate successful POSTs of the same body (as Stripe's at-least-once delivery allows).
/// </param>
/// <param name="WebhookReorder">
/// Whether new events are held back briefly (<see cref="WebhookReorderHold"/>) and the held batch is
/// sent newest first, so that the receiver sees them out of order.
/// </param>
/// <param name="Seed">
/// Seed of the random sequences draws come from (one for requests, one for events), so that a run is
/// reproducible for a given request order.
/// </param>
/// <param name="WebhookDropRate">
/// Probability that an event, when it happens, is recorded (and listed by <c>/_sim/events</c>) but
/// never sent: a lost webhook, which the receiver has to make up for by asking.
/// </param>
/// <param name="ForgetIdempotencyKeys">
/// Whether creating a payment intent, refund or payout runs as if its Idempotency-Key had never been seen, as Stripe
/// does once a key is older than 24 hours: repeating a request then charges, refunds or pays out again.
/// </param>
public sealed record SimulatorFaultProfile(
    int LatencyMs = 0,
    double ErrorRate = 0,
    double TimeoutAfterChargeRate = 0,
    double WebhookDuplicateRate = 0,
    bool WebhookReorder = false,
    int Seed = 0,
    double WebhookDropRate = 0,
    bool ForgetIdempotencyKeys = false)
{
    /// <summary>How long <see cref="WebhookReorder"/> holds new events back to gather a batch.</summary>
    public static readonly TimeSpan WebhookReorderHold = TimeSpan.FromMilliseconds(300);

    /// <summary>Upper bound of <see cref="LatencyMs"/>: ten minutes.</summary>
    public const int MaxLatencyMs = 600_000;

    public static SimulatorFaultProfile None { get; } = new();

    /// <summary>The profile as <c>POST</c> and <c>GET /_sim/faults</c> show it.</summary>
    public JsonObject ToJson() => new()
    {
        ["latency_ms"] = LatencyMs,
        ["error_rate"] = ErrorRate,
        ["timeout_after_charge_rate"] = TimeoutAfterChargeRate,
        ["webhook_duplicate_rate"] = WebhookDuplicateRate,
        ["webhook_reorder"] = WebhookReorder,
        ["webhook_drop_rate"] = WebhookDropRate,
        ["forget_idempotency_keys"] = ForgetIdempotencyKeys,
        ["seed"] = Seed,
    };

    /// <summary>
    /// Reads a profile from the JSON body of <c>POST /_sim/faults</c>: an object whose fields are all
    /// optional (missing is 0 / false); an empty body is no faults. Unknown fields, wrong types and
    /// out-of-range values are refused with a message naming the field.
    /// </summary>
    public static bool TryParse(string json, out SimulatorFaultProfile profile, out string? error, out string? field)
    {
        ArgumentNullException.ThrowIfNull(json);
        profile = None;
        error = null;
        field = null;
        if (string.IsNullOrWhiteSpace(json))
        {
            return true;
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException exception)
        {
            error = $"The body is not valid JSON: {exception.Message}";
            return false;
        }

        if (root is not JsonObject fields)
        {
            error = "The body must be a JSON object.";
            return false;
        }

        foreach (var (name, value) in fields)
        {
            field = name;
            switch (name)
            {
                case "latency_ms":
                    if (!TryInt(value, out var latency) || latency < 0 || latency > MaxLatencyMs)
                    {
                        error = $"latency_ms must be an integer from 0 to {MaxLatencyMs}.";
                        return false;
                    }

                    profile = profile with { LatencyMs = latency };
                    break;

                case "error_rate":
                case "timeout_after_charge_rate":
                case "webhook_duplicate_rate":
                case "webhook_drop_rate":
                    if (!TryRate(value, out var rate))
                    {
                        error = $"{name} must be a number from 0 to 1.";
                        return false;
                    }

                    profile = name switch
                    {
                        "error_rate" => profile with { ErrorRate = rate },
                        "timeout_after_charge_rate" => profile with { TimeoutAfterChargeRate = rate },
                        "webhook_duplicate_rate" => profile with { WebhookDuplicateRate = rate },
                        _ => profile with { WebhookDropRate = rate },
                    };
                    break;

                case "webhook_reorder":
                case "forget_idempotency_keys":
                    if (value?.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        error = $"{name} must be true or false.";
                        return false;
                    }

                    profile = name == "webhook_reorder"
                        ? profile with { WebhookReorder = value.GetValue<bool>() }
                        : profile with { ForgetIdempotencyKeys = value.GetValue<bool>() };
                    break;

                case "seed":
                    if (!TryInt(value, out var seed))
                    {
                        error = "seed must be a 32-bit integer.";
                        return false;
                    }

                    profile = profile with { Seed = seed };
                    break;

                default:
                    error = $"Unknown field {name}; known: latency_ms, error_rate, timeout_after_charge_rate, webhook_duplicate_rate, webhook_reorder, webhook_drop_rate, forget_idempotency_keys, seed.";
                    return false;
            }
        }

        field = null;
        return true;
    }

    private static bool TryInt(JsonNode? value, out int result)
    {
        result = 0;
        return value is JsonValue number && number.GetValueKind() == JsonValueKind.Number && number.TryGetValue(out result);
    }

    private static bool TryRate(JsonNode? value, out double result)
    {
        result = 0;
        return value is JsonValue number
            && number.GetValueKind() == JsonValueKind.Number
            && number.TryGetValue(out result)
            && result is >= 0 and <= 1;
    }
}

/// <summary>What the fault profile decided for one executing request.</summary>
/// <param name="Error">Answer HTTP 500 before doing anything.</param>
/// <param name="LoseResponse">Do the work, keep the answer, then abort the connection instead of sending it.</param>
public readonly record struct FaultRoll(bool Error, bool LoseResponse);

/// <summary>What the fault profile decided for one event as it happens.</summary>
/// <param name="Drop">Record it, never send it.</param>
/// <param name="Duplicate">Send it twice.</param>
public readonly record struct WebhookFaultRoll(bool Drop, bool Duplicate);

/// <summary>The current <see cref="SimulatorFaultProfile"/> and its random sequence. Thread-safe.</summary>
public sealed class SimulatorFaults
{
    private readonly Lock _gate = new();
    private SimulatorFaultProfile _profile = SimulatorFaultProfile.None;
    private Random _random = new(SimulatorFaultProfile.None.Seed);
    private Random _webhookRandom = WebhookRandom(SimulatorFaultProfile.None.Seed);

    public SimulatorFaultProfile Current
    {
        get
        {
            lock (_gate)
            {
                return _profile;
            }
        }
    }

    /// <summary>Replaces the profile, and restarts the random sequence from its seed.</summary>
    public void Set(SimulatorFaultProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        lock (_gate)
        {
            _profile = profile;
            _random = new Random(profile.Seed);
            _webhookRandom = WebhookRandom(profile.Seed);
        }
    }

    /// <summary>
    /// The faults for one create or confirm that is about to execute. Always draws two numbers (error,
    /// then lost answer), so that the sequence depends only on the seed and the order of requests.
    /// </summary>
    public FaultRoll Roll()
    {
        lock (_gate)
        {
            var error = _random.NextDouble() < _profile.ErrorRate;
            var lose = _random.NextDouble() < _profile.TimeoutAfterChargeRate;
            return new FaultRoll(error, !error && lose);
        }
    }

    /// <summary>
    /// The faults for one event as it happens. Drawn from a sequence of its own, so that events (which
    /// some requests make and others don't) don't shift the faults of later requests. Always draws two
    /// numbers (duplicate, then drop).
    /// </summary>
    public WebhookFaultRoll RollWebhook()
    {
        lock (_gate)
        {
            var duplicate = _webhookRandom.NextDouble() < _profile.WebhookDuplicateRate;
            var drop = _webhookRandom.NextDouble() < _profile.WebhookDropRate;
            return new WebhookFaultRoll(drop, !drop && duplicate);
        }
    }

    private static Random WebhookRandom(int seed) => new(seed ^ 0x5EED);
}
