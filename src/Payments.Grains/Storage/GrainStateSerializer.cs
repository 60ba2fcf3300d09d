using System.Buffers;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;

namespace Payments.Grains.Storage;

/// <summary>
/// What a grain's state looks like in <c>orleans_grain_state.payload</c>. Written in Orleans' binary format, the contracts the
/// state types carry already (<c>[GenerateSerializer]</c>, a field by its <c>[Id]</c>: one added or dropped still reads),
/// behind a format byte. JSON, Orleans' Newtonsoft default with its <c>$type</c> names, was five times the bytes and a tenth
/// of the silo's CPU per order; rows written that way before still read. A state marked <see cref="StoredAsJsonAttribute"/>
/// is still written as JSON: something outside its grain reads the payload. <see cref="GrainStateOptions.WriteFormat"/> can
/// make every write JSON, for a rolling upgrade from a build that reads only JSON.
/// </summary>
internal sealed class GrainStateSerializer(Serializer binary, IGrainStorageSerializer json, IOptions<GrainStateOptions> options)
{
    private readonly bool _writeJson = options.Value.WriteFormat == GrainStateFormat.Json;

    /// <summary>The first byte of a binary payload. JSON starts with <c>{</c>, so a payload says which it is.</summary>
    internal const byte BinaryFormat = 0x01;

    public byte[] Serialize<T>(T state)
    {
        if (_writeJson || JsonStored<T>.Value)
        {
            return json.Serialize(state).ToArray();
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        buffer.GetSpan(1)[0] = BinaryFormat;
        buffer.Advance(1);
        binary.Serialize(state, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public T? Deserialize<T>(byte[] payload) =>
        payload.Length > 0 && payload[0] == BinaryFormat
            ? binary.Deserialize<T>(payload.AsMemory(1))
            : json.Deserialize<T>(new BinaryData(payload));

    private static class JsonStored<T>
    {
        public static readonly bool Value = typeof(T).IsDefined(typeof(StoredAsJsonAttribute), inherit: false);
    }
}

/// <summary>
/// This state is stored as JSON, not in the binary format: a query outside its grain reads its payload (name which, where
/// the attribute is used).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class StoredAsJsonAttribute : Attribute;
