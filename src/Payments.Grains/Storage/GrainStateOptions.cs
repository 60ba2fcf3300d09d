namespace Payments.Grains.Storage;

/// <summary>How grain state is written (section <c>GrainState</c>). Both formats are always read.</summary>
public sealed class GrainStateOptions
{
    public const string SectionName = "GrainState";

    /// <summary>
    /// <see cref="GrainStateFormat.Binary"/> by default. A cluster upgrading from a build before the binary format runs its new
    /// silos with <see cref="GrainStateFormat.Json"/> until no old silo is left (an old silo cannot read a binary row), then
    /// switches; rolled back past the format, rows written in binary since would not read.
    /// </summary>
    public GrainStateFormat WriteFormat { get; set; } = GrainStateFormat.Binary;
}

public enum GrainStateFormat
{
    Binary,
    Json,
}
