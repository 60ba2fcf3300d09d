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
/// <para>
/// A call whose message went to a silo just before it died is not refused: its answer simply never comes, and Orleans would
/// wait out the response timeout (the window and more). So when another call finds a silo gone while this one is out, this
/// one is asked again at once, and the first answer wins; the call's grain is the same, so when the first call was not lost
/// after all the second waits behind it (and the first's answer, if it comes right after, is preferred). An idempotency
/// key's begin, a payout's creation and a replay carry the HTTP request's token, so asked again they answer as the first
/// did. Once either call has the answer, the other one stops retrying.
/// </para>
/// </summary>
internal sealed class ClusterCallRetryFilter(
    IOptions<FailoverOptions> options,
    ClusterFailureSignal failures,
    ILogger<ClusterCallRetryFilter> logger) : IOutgoingGrainCallFilter
{
    /// <summary>Set while a call is sent again by <see cref="AskAgainAsync"/>: that one retries, but is not asked again itself.</summary>
    private static readonly AsyncLocal<bool> AskingAgain = new();

    /// <summary>With <see cref="AskingAgain"/>: the asking call's "answered", which stops the asked-again call's retries too.</summary>
    private static readonly AsyncLocal<CancellationToken> AskedAgainStop = new();

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (!IsRetriable(context))
        {
            await context.Invoke();
            return;
        }

        // Once this call has its answer, the other of two calls (and the retries of an asked-again one) stop retrying.
        using var answered = CancellationTokenSource.CreateLinkedTokenSource(AskedAgainStop.Value);
        try
        {
            await InvokeOnceAnsweredAsync(context, answered.Token);
        }
        finally
        {
            answered.Cancel();
        }
    }

    private async Task InvokeOnceAnsweredAsync(IOutgoingGrainCallContext context, CancellationToken answered)
    {
        var failureSeen = failures.Current;
        var progress = new CallProgress();
        var call = InvokeWithRetriesAsync(context, progress, answered);
        if (AskingAgain.Value || call.IsCompleted)
        {
            await call;
            return;
        }

        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (failureSeen.Register(() => lost.TrySetResult()))
        {
            if (await Task.WhenAny(call, lost.Task) == call || progress.FailedItself)
            {
                // Done, or the failure was this call's own: its retries send it again anyway.
                await call;
                return;
            }
        }

        var again = AskAgainAsync(context, answered);
        if (await Task.WhenAny(call, again) == again && again.IsCompletedSuccessfully)
        {
            // The first call may only have been slow (the second waits behind it on the same grain): when its answer follows
            // closely, it is the one to give, since a repeat may answer "already done" where the first said "done" (the
            // request tokens of idempotency keys, payouts and replays make most repeats answer alike anyway).
            await Task.WhenAny(call, Task.Delay(options.Value.AskAgainGrace, CancellationToken.None));
            if (call.IsCompletedSuccessfully)
            {
                Observe(again);
                return;
            }

            context.Result = again.Result;
            Observe(call);
            return;
        }

        if (call.IsCompleted && !call.IsCompletedSuccessfully)
        {
            // The first failed (its retries spent): the second's answer stands, whatever it is.
            Observe(call);
            context.Result = await again;
            return;
        }

        // The first answered, or the second failed: the first one's, when it comes, stands.
        Observe(again);
        await call;
    }

    /// <summary>The call, sent again while it fails for cluster reasons, within the budget.</summary>
    private async Task InvokeWithRetriesAsync(IOutgoingGrainCallContext context, CallProgress progress, CancellationToken answered)
    {
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

            // Orleans throws most failures from Invoke; some come back in the response.
            var failure = thrown?.SourceException ?? context.Response?.Exception;
            if (!ClusterFailures.IsClusterFailure(failure))
            {
                thrown?.Throw();
                return;
            }

            progress.FailedItself = true;
            if (ClusterFailures.IsSiloLost(failure))
            {
                failures.Raise();
            }

            firstFailure ??= Stopwatch.GetTimestamp();
            var pause = Jittered(delay);
            if (answered.IsCancellationRequested)
            {
                // The other of two calls gave the answer: this one's failure is nobody's concern, and it must not try again
                // (a late repeat could act on a request already answered).
                thrown?.Throw();
                return;
            }

            if (Stopwatch.GetElapsedTime(firstFailure.Value) + pause > settings.RetryBudget)
            {
                logger.LogWarning(failure, "{Interface}.{Method} on {Grain} still failing after {Attempts} attempts: giving up",
                    context.InterfaceName, context.MethodName, context.TargetId, attempt);
                thrown?.Throw();
                return;
            }

            logger.LogDebug("{Interface}.{Method} on {Grain} failed for cluster reasons ({Error}); retrying in {Delay} ms",
                context.InterfaceName, context.MethodName, context.TargetId, failure!.GetType().Name, (int)pause.TotalMilliseconds);
            try
            {
                await Task.Delay(pause, answered);
            }
            catch (OperationCanceledException)
            {
                thrown?.Throw();
                return;
            }

            delay = delay * 2 < settings.RetryDelayMax ? delay * 2 : settings.RetryDelayMax;
        }
    }

    /// <summary>The same method on the same grain with the same arguments, as a call of its own (retried like any other).</summary>
    private static async Task<object?> AskAgainAsync(IOutgoingGrainCallContext context, CancellationToken answered)
    {
        var arguments = new object?[context.Request.GetArgumentCount()];
        for (var i = 0; i < arguments.Length; i++)
        {
            arguments[i] = context.Request.GetArgument(i);
        }

        Task task;
        // Set here, inside this async method: the flags flow into the call made below, and not back out to the caller.
        AskingAgain.Value = true;
        AskedAgainStop.Value = answered;
        task = (Task)context.InterfaceMethod.Invoke(context.Grain, arguments)!;

        await task;
        return task.GetType().IsGenericType ? task.GetType().GetProperty(nameof(Task<object>.Result))!.GetValue(task) : null;
    }

    /// <summary>The losing call of the two ends on its own; its failure, if any, is of no interest but must not go unobserved.</summary>
    private void Observe(Task loser) => loser.ContinueWith(
        task => logger.LogDebug(task.Exception, "A call asked twice: the slower one failed"),
        CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    /// <summary>Our own grains' calls that expect an answer, except the one that is not safe to repeat; never Orleans' own.</summary>
    private static bool IsRetriable(IOutgoingGrainCallContext context)
    {
        var method = context.InterfaceMethod;
        if (method?.DeclaringType?.Namespace?.StartsWith("Payments.", StringComparison.Ordinal) != true
            || !typeof(Task).IsAssignableFrom(method.ReturnType)
            || method.IsDefined(typeof(Orleans.Concurrency.OneWayAttribute), inherit: true))
        {
            return false;
        }

        return !(method.DeclaringType == typeof(IReconcilerGrain) && method.Name == nameof(IReconcilerGrain.StartRunAsync));
    }

    private sealed class CallProgress
    {
        public bool FailedItself { get; set; }
    }

    /// <summary>Half the delay plus up to as much again at random, so retries of many calls do not arrive together.</summary>
    private static TimeSpan Jittered(TimeSpan delay) => delay / 2 + delay / 2 * Random.Shared.NextDouble();
}
