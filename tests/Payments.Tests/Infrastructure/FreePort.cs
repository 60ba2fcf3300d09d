using System.Net;
using System.Net.Sockets;

namespace Payments.Tests.Infrastructure;

/// <summary>
/// Ports for the servers tests start. A port the kernel hands out for port 0 lies in its ephemeral range, where the next
/// outgoing connection of any test may take it before our server binds it ("address already in use", seen in CI). So ports
/// are handed out, each once per run, from a range below the ephemeral one (Linux: 32768-60999) and below the Orleans test
/// cluster's own ranges, and only if they can be bound now.
/// </summary>
internal static class FreePort
{
    private const int RangeStart = 15_000;
    private const int RangeEnd = 20_000;
    private static int _next = RangeStart + (Environment.ProcessId % 500) * 8;

    public static int Next()
    {
        for (var tries = 0; tries < RangeEnd - RangeStart; tries++)
        {
            var port = RangeStart + ((Interlocked.Increment(ref _next) - RangeStart) % (RangeEnd - RangeStart));
            if (IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"No free port between {RangeStart} and {RangeEnd}.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
