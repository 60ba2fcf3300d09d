namespace Payments.PspSimulator;

/// <summary>An HTTP answer of the simulated Stripe API: what is stored for idempotent replay.</summary>
/// <param name="StatusCode">The HTTP status.</param>
/// <param name="Body">The JSON body, replayed byte for byte.</param>
/// <param name="RetryAfterSeconds">A <c>Retry-After</c> header to send, if any.</param>
public sealed record SimulatorResponse(int StatusCode, string Body, int? RetryAfterSeconds = null)
{
    /// <summary>
    /// Whether the result is kept under its idempotency key. Like Stripe, 5xx answers are not:
    /// a retry with the same key executes again.
    /// </summary>
    public bool IsStored => StatusCode < 500;

    /// <summary>
    /// Set for <c>pm_sim_timeout_once</c> and the <c>timeout_after_charge_rate</c> fault: the charge was
    /// made and stored, but this answer is never delivered: the connection is aborted instead.
    /// </summary>
    public bool LoseResponse { get; init; }
}
