using System.Collections.Concurrent;

namespace Payments.Tests.Infrastructure;

/// <summary>
/// Grain calls that fail on demand, the way a call to a grain on a silo that has just died fails. The cluster fixtures' silos
/// run this filter (the test cluster's silos share the test's process, so they see what a test sets here); a test names the
/// grain and the method whose calls fail until it disposes what <see cref="Fail"/> returns. Keyed by grain, so tests that run
/// side by side on fresh ids never fail each other's calls.
/// </summary>
internal sealed class InjectedCallFailures : IIncomingGrainCallFilter
{
    private static readonly ConcurrentDictionary<(GrainId Grain, string Method), bool> Failing = new();

    public static IDisposable Fail(GrainId grain, string method)
    {
        Failing[(grain, method)] = true;
        return new Injected(grain, method);
    }

    public Task Invoke(IIncomingGrainCallContext context) =>
        !Failing.IsEmpty && Failing.ContainsKey((context.TargetId, context.InterfaceMethod?.Name ?? context.MethodName))
            ? throw new SiloUnavailableException($"Injected failure of {context.InterfaceName}.{context.MethodName} on {context.TargetId}.")
            : context.Invoke();

    private sealed class Injected(GrainId grain, string method) : IDisposable
    {
        public void Dispose() => Failing.TryRemove((grain, method), out _);
    }
}
