namespace Payments.Tests.Infrastructure;

internal static class Ids
{
    /// <summary>A fresh id, so that no two tests share a grain.</summary>
    public static string New(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 17, 64)];
}
