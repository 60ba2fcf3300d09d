using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Options;
using Payments.Core.Reconciliation;

namespace Payments.Server.Cluster;

/// <summary>
/// The gateway's grain calls, retried while the cluster heals: a call that failed because a silo died (refused, rejected,
/// unanswered) is sent again, with backoff, for up to <see cref="FailoverOptions.RetryBudget"/> after its first failure. Once
/// the dead silo is declared dead its grains activate on the others, and the retry reaches them there.
/// <para>
/// A retry may run a call twice: the first attempt may have done its work before its answer was lost. That is safe because
/// every call the API makes is idempotent by a business id: the idempotency key's begin (a second begin of a running request
/// answers "in progress", 409 with Retry-After), complete and abandon (by lock token); a checkout's creation (by checkout id
/// and fingerprint, its orders by payment order id); a refund (its id derives from the Idempotency-Key); a fulfillment
/// (once per order); a payout (by payout id); payout settings (the same settings again); a schedule's run (its payout ids
/// derive from the date); PSP notices (never move an order backwards); dead-letter replays (a second finds nothing parked);
/// and every read. The one exception is <see cref="IReconcilerGrain.StartRunAsync"/>, whose operator runs get a fresh id
/// each time: it is never retried, so a lost answer cannot start a second run.
/// </para>
/// </summary>
internal sealed class ClusterCallRetryFilter(IOptions<FailoverOptions> options, ILogger<ClusterCallRetryFilter> logger) : IOutgoingGrainCallFilter
{
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (!IsRetriable(context))
        {
            await context.Invoke();
            return;
        }

        var settings = options.Value;
        long? firstFailure = null;
        var delay = settings.RetryDelayBase;
        for (var attempt = 1; ; attempt++)
        {
            ExceptionDispatchInfo? thrown = null;
            try
            {
                await context.Invoke();
            }
            catch (Exception exception)
            {
                thrown = ExceptionDispatchInfo.Capture(exception);
            }

            // Orleans hands most failures back in the response rather than throwing them.
            var failure = thrown?.SourceException ?? context.Response?.Exception;
            if (!ClusterFailures.IsClusterFailure(failure))
            {
                thrown?.Throw();
                return;
            }

            firstFailure ??= Stopwatch.GetTimestamp();
            var pause = Jittered(delay);
            if (Stopwatch.GetElapsedTime(firstFailure.Value) + pause > settings.RetryBudget)
            {
                logger.LogWarning(failure, "{Interface}.{Method} on {Grain} still failing after {Attempts} attempts: giving up",
                    context.InterfaceName, context.MethodName, context.TargetId, attempt);
                thrown?.Throw();
                return;
            }

            logger.LogDebug("{Interface}.{Method} on {Grain} failed for cluster reasons ({Error}); retrying in {Delay} ms",
                context.InterfaceName, context.MethodName, context.TargetId, failure!.GetType().Name, (int)pause.TotalMilliseconds);
            await Task.Delay(pause);
            delay = delay * 2 < settings.RetryDelayMax ? delay * 2 : settings.RetryDelayMax;
        }
    }

    /// <summary>Our own grains' calls that expect an answer, except the one that is not safe to repeat; never Orleans' own.</summary>
    private static bool IsRetriable(IOutgoingGrainCallContext context)
    {
        var method = context.InterfaceMethod;
        if (method?.DeclaringType?.Namespace?.StartsWith("Payments.", StringComparison.Ordinal) != true
            || !typeof(Task).IsAssignableFrom(method.ReturnType))
        {
            return false;
        }

        return !(method.DeclaringType == typeof(IReconcilerGrain) && method.Name == nameof(IReconcilerGrain.StartRunAsync));
    }

    /// <summary>Half the delay plus up to as much again at random, so retries of many calls do not arrive together.</summary>
    private static TimeSpan Jittered(TimeSpan delay) => delay / 2 + delay / 2 * Random.Shared.NextDouble();
}
