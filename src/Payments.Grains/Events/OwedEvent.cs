namespace Payments.Grains.Events;

/// <summary>
/// An event a grain owes the log: made with the change it reports and written in the same state write, so it exists only if
/// the change does, and keeps its id however often it is written to the log. Its data is the resource as stored.
/// (<c>checkout.completed</c> is made afresh at each telling of the last order, under the same id, and not stored.)
/// </summary>
// Stored in Orleans' binary format (GrainStateSerializer): an [Id] is the field's name on disk, never to be reused.
[GenerateSerializer, Alias("Payments.Grains.OwedEvent")]
internal sealed class OwedEvent
{
    [Id(0)]
    public string EventId { get; set; } = string.Empty;

    [Id(1)]
    public string Type { get; set; } = string.Empty;

    /// <summary>Events of one key (a checkout: its orders, their refunds, its completion; a payout) reach the merchant in order.</summary>
    [Id(2)]
    public string OrderingKey { get; set; } = string.Empty;

    /// <summary>The refund an event of a refund is about; null for the grain's own resource.</summary>
    [Id(3)]
    public string? SubjectId { get; set; }

    [Id(4)]
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary><c>{"object": ...}</c>, rendered from the state the change was written with; null until then.</summary>
    [Id(5)]
    public string? Data { get; set; }

    public static OwedEvent For(string type, string orderingKey, DateTimeOffset now, string? subjectId = null) => new()
    {
        EventId = "evt_" + Guid.NewGuid().ToString("N"),
        Type = type,
        OrderingKey = orderingKey,
        SubjectId = subjectId,
        CreatedAt = now,
    };
}
