using Payments.Core.PaymentOrders;

namespace Payments.Core.Checkout;

[GenerateSerializer, Immutable, Alias("Payments.CheckoutOrderLine")]
public sealed record CheckoutOrderLine(
    [property: Id(0)] string PaymentOrderId,
    [property: Id(1)] string SellerAccount,
    [property: Id(2)] Money.Money Amount);

[GenerateSerializer, Immutable, Alias("Payments.CreateCheckout")]
public sealed record CreateCheckout(
    [property: Id(0)] string MerchantId,
    [property: Id(1)] string BuyerId,
    [property: Id(2)] PaymentOrders.PaymentMethod PaymentMethod,
    [property: Id(3)] IReadOnlyList<CheckoutOrderLine> Orders,
    [property: Id(4)] TimeSpan SynchronousWindow);

[GenerateSerializer, Alias("Payments.CreateCheckoutOutcome")]
public enum CreateCheckoutOutcome
{
    Created = 0,
    AlreadyExists = 1,
    ExistsWithDifferentRequest = 2,
    PaymentOrderExists = 3,
    SellerBelongsToOtherMerchant = 4,
}

[GenerateSerializer, Alias("Payments.CheckoutStatus")]
public enum CheckoutStatus
{
    Processing = 0,
    RequiresAction = 1,
    Succeeded = 2,
    PartiallyFailed = 3,
    Failed = 4,
}

[GenerateSerializer, Immutable, Alias("Payments.CheckoutView")]
public sealed record CheckoutView(
    [property: Id(0)] string CheckoutId,
    [property: Id(1)] string MerchantId,
    [property: Id(2)] CheckoutStatus Status,
    [property: Id(3)] bool IsPaymentDone,
    [property: Id(4)] string BuyerId,
    [property: Id(5)] IReadOnlyList<PaymentOrderView> Orders,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DateTimeOffset UpdatedAt)
{
    /// <summary>Where the buyer goes next: the page of the first order still waiting for the buyer.</summary>
    public string? NextActionUrl => Orders.FirstOrDefault(order => order.Status == PaymentOrderStatus.RequiresAction && order.ActionUrl is not null)?.ActionUrl;
}

/// <param name="ConflictingId">The payment order (PaymentOrderExists) or seller account (SellerBelongsToOtherMerchant) in the way.</param>
[GenerateSerializer, Immutable, Alias("Payments.CreateCheckoutResult")]
public sealed record CreateCheckoutResult(
    [property: Id(0)] CreateCheckoutOutcome Outcome,
    [property: Id(1)] CheckoutView? Checkout,
    [property: Id(2)] string? ConflictingId);

[Alias("Payments.ICheckoutGrain")]
public interface ICheckoutGrain : IGrainWithStringKey
{
    /// <summary>Creates the checkout and its orders, executes them, and waits up to the synchronous window.</summary>
    [Alias("CreateAsync")]
    Task<CreateCheckoutResult> CreateAsync(CreateCheckout command);

    [Alias("GetAsync"), AlwaysInterleave]
    Task<CheckoutView?> GetAsync();

    /// <summary>
    /// One of the checkout's orders is final (and stored so): when all have said so, the checkout records <c>checkout.completed</c> (once). Answers
    /// only once that event is in the log, so the order tells again until it is. Interleaves, because the order tells while
    /// the checkout may be waiting on it.
    /// </summary>
    [Alias("OrderFinishedAsync"), AlwaysInterleave]
    Task OrderFinishedAsync(string paymentOrderId);

    /// <summary>
    /// Asked by an order still awaiting its checkout (woken by the sweep, or told of by the PSP or reconciliation): may it
    /// be charged? Interleaves (the checkout may be
    /// creating its orders right now, which makes the answer <see cref="OrderGoAhead.Wait"/>), and releases the checkout's
    /// orders when the creation broke off part-way.
    /// </summary>
    [Alias("ConfirmOrderAsync"), AlwaysInterleave]
    Task<OrderGoAhead> ConfirmOrderAsync(string paymentOrderId);
}

[GenerateSerializer, Alias("Payments.OrderGoAhead")]
public enum OrderGoAhead
{
    /// <summary>Every order of the checkout exists: charge.</summary>
    Go = 0,

    /// <summary>The checkout is creating its orders at this moment: ask again later.</summary>
    Wait = 1,

    /// <summary>The checkout's creation broke off (or there is no such checkout): the order must go, uncharged.</summary>
    Release = 2,
}

public static class CheckoutStatusExtensions
{
    public static string ToWireName(this CheckoutStatus status) => status switch
    {
        CheckoutStatus.Processing => "PROCESSING",
        CheckoutStatus.RequiresAction => "REQUIRES_ACTION",
        CheckoutStatus.Succeeded => "SUCCEEDED",
        CheckoutStatus.PartiallyFailed => "PARTIALLY_FAILED",
        CheckoutStatus.Failed => "FAILED",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary>The checkout's status follows from its orders' statuses.</summary>
    public static CheckoutStatus FromOrders(IReadOnlyCollection<PaymentOrderStatus> statuses)
    {
        if (statuses.Count == 0)
        {
            return CheckoutStatus.Processing;
        }

        if (statuses.All(s => s.IsFinal()))
        {
            var succeeded = statuses.Count(s => s == PaymentOrderStatus.Success);
            return succeeded == statuses.Count ? CheckoutStatus.Succeeded
                : succeeded == 0 ? CheckoutStatus.Failed
                : CheckoutStatus.PartiallyFailed;
        }

        return statuses.Any(s => s == PaymentOrderStatus.RequiresAction) ? CheckoutStatus.RequiresAction : CheckoutStatus.Processing;
    }
}
