namespace Payments.Grains;

/// <summary>Names shared by the grains and the hosts that configure them.</summary>
public static class GrainStorage
{
    /// <summary>The ADO.NET grain storage on PostgreSQL that every payments grain persists to.</summary>
    public const string Name = "payments";
}
