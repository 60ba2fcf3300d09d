using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;
using Payments.Grains.Storage;

namespace Payments.Tests.Unit.Storage;

/// <summary>The grain storage's serializers, made without a silo: Orleans' binary one for the payments grains' types, and the JSON one earlier builds wrote with.</summary>
internal static class StateSerializers
{
    private static readonly Lazy<Serializer> Binary = new(() =>
        new ServiceCollection().AddSerializer(serializer => serializer.AddAssembly(typeof(GrainStateSerializer).Assembly)).BuildServiceProvider().GetRequiredService<Serializer>());

    /// <summary>Orleans' default grain storage serializer (Newtonsoft, with its default settings): what earlier builds stored.</summary>
    public static JsonGrainStorageSerializer Json { get; } = new(new OrleansJsonSerializer(Options.Create(new OrleansJsonSerializerOptions())));

    public static GrainStateSerializer Storage(GrainStateFormat writeFormat = GrainStateFormat.Binary) =>
        new(Binary.Value, Json, Options.Create(new GrainStateOptions { WriteFormat = writeFormat }));
}
