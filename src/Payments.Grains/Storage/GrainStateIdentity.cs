using System.Text;
using Orleans;

namespace Payments.Grains.Storage;

/// <summary>
/// Where a grain's state lives in <c>orleans_grain_state</c> (sql/0001): the service, the state's name, the key split
/// into N0/N1 and an optional string extension, and the two narrow hashes the unique index starts with. These are
/// the columns the Orleans ADO.NET provider fills, computed the same way, so that rows written before this storage
/// existed are found by it, and the operations queries that select by <c>grain_type</c> and <c>grain_id_ext</c> keep
/// working.
/// </summary>
internal readonly record struct GrainStateIdentity(
    string ServiceId, string GrainType, int GrainTypeHash, int GrainIdHash, long N0, long N1, string? Extension)
{
    public static GrainStateIdentity Of(string serviceId, string stateName, GrainId grainId)
    {
        if (stateName.Contains('`', StringComparison.Ordinal))
        {
            // The ADO.NET provider rewrites generic type names; no payments state is generic, so none is written here.
            throw new NotSupportedException($"Generic state names are not stored by this provider: {stateName}.");
        }

        long n0, n1;
        string? extension;
        byte[] hashed;
        if (grainId.TryGetGuidKey(out var guid, out extension))
        {
            var bytes = guid.ToByteArray();
            (n0, n1) = (BitConverter.ToInt64(bytes, 0), BitConverter.ToInt64(bytes, 8));
            hashed = WithExtension(bytes, extension);
        }
        else if (grainId.TryGetIntegerKey(out var integer, out extension))
        {
            (n0, n1) = (0, integer);
            hashed = WithExtension(BitConverter.GetBytes(integer), extension);
        }
        else
        {
            (n0, n1, extension) = (0, 0, grainId.Key.ToString());
            hashed = Encoding.UTF8.GetBytes(extension);
        }

        // The stored hashes are of the key bytes in big-endian order.
        if (BitConverter.IsLittleEndian)
        {
            Array.Reverse(hashed);
        }

        return new GrainStateIdentity(
            serviceId,
            stateName,
            (int)StableHash.ComputeHash(Encoding.UTF8.GetBytes(stateName)),
            (int)StableHash.ComputeHash(hashed),
            n0,
            n1,
            extension);
    }

    private static byte[] WithExtension(byte[] key, string? extension) =>
        extension is null ? key : [.. key, .. Encoding.UTF8.GetBytes(extension)];

    /// <summary>How the identity reads in a message: the key as Orleans shows it.</summary>
    public override string ToString() => $"{GrainType}/{Extension ?? $"{N0}:{N1}"}";
}
