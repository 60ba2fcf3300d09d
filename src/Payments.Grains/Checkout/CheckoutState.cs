namespace Payments.Grains.Checkout;

// Stored in Orleans' binary format (GrainStateSerializer): an [Id] is the field's name on disk, never to be reused.
[GenerateSerializer, Alias("Payments.Grains.CheckoutState")]
internal sealed class CheckoutState
{
    [Id(0)]
    public bool Exists { get; set; }

    [Id(1)]
    public string MerchantId { get; set; } = string.Empty;

    [Id(2)]
    public string BuyerId { get; set; } = string.Empty;

    /// <summary>What the checkout was created with, to tell a retry of it from a different request.</summary>
    [Id(3)]
    public string RequestFingerprint { get; set; } = string.Empty;

    [Id(4)]
    public List<string> PaymentOrderIds { get; set; } = [];

    [Id(5)]
    public DateTimeOffset CreatedAt { get; set; }

    [Id(6)]
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>
    /// <c>checkout.completed</c> stored before it is written to the log: by an earlier build, or with
    /// <c>Checkout:StoreCompletion</c>. Otherwise the completion goes straight to the log (CheckoutGrain.CompletionEventId),
    /// and this stays null.
    /// </summary>
    [Id(7)]
    public Events.OwedEvent? CompletedEvent { get; set; }

    /// <summary>
    /// The orders that told the checkout they are final (after their own state and events were stored), but the last: its
    /// word writes the completion to the log and is not stored. So all orders here does not mean complete; the log says that.
    /// </summary>
    [Id(8)]
    public List<string> FinalOrderIds { get; set; } = [];

    /// <summary>
    /// Set with the checkout's first write and cleared once every order exists: from then on they are charged. Until then an
    /// order waits, and one whose checkout's creation broke off is released, never charged behind the back of a client who
    /// was told it failed. (Put this way round so that checkouts stored before the flag existed read as created.)
    /// </summary>
    [Id(9)]
    public bool CreationPending { get; set; }
}
