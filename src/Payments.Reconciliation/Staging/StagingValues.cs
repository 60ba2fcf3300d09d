using Npgsql;
using NpgsqlTypes;

namespace Payments.Reconciliation.Staging;

/// <summary>Nullable columns of a binary COPY: a null is written as such, not as an empty value.</summary>
internal static class StagingValues
{
    public static Task WriteAsync(NpgsqlBinaryImporter importer, string? value, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);

    public static Task WriteAsync(NpgsqlBinaryImporter importer, DateTimeOffset? value, CancellationToken cancellationToken) =>
        value is { } time ? importer.WriteAsync(time, NpgsqlDbType.TimestampTz, cancellationToken) : importer.WriteNullAsync(cancellationToken);

    public static Task WriteAsync(NpgsqlBinaryImporter importer, DateOnly? value, CancellationToken cancellationToken) =>
        value is { } day ? importer.WriteAsync(day, NpgsqlDbType.Date, cancellationToken) : importer.WriteNullAsync(cancellationToken);
}
