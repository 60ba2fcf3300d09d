using Payments.Core.PaymentOrders;

namespace Payments.Grains.PaymentOrders;

/// <summary>Creating an order (idempotent by its id and terms) and releasing one its checkout never let go.</summary>
internal static class PaymentOrderCreation
{
    /// <summary>What a create says of an order that exists already; null when there is none and it is to be created.</summary>
    public static CreatePaymentOrderOutcome? ExistingOutcome(PaymentOrderState state, CreatePaymentOrder command)
    {
        if (!state.Exists)
        {
            return null;
        }

        if (state.CheckoutId != command.CheckoutId || state.MerchantId != command.MerchantId)
        {
            return CreatePaymentOrderOutcome.BelongsToOtherCheckout;
        }

        var sameTerms = state.SellerAccount == command.SellerAccount
            && state.AmountMinor == command.Amount.Minor
            && state.Currency == command.Amount.Currency.Code;
        return sameTerms ? CreatePaymentOrderOutcome.AlreadyExists : CreatePaymentOrderOutcome.ExistsWithDifferentTerms;
    }

    public static PaymentOrderState NewOrder(CreatePaymentOrder command, DateTimeOffset now) => new()
    {
        Exists = true,
        MerchantId = command.MerchantId,
        CheckoutId = command.CheckoutId,
        SellerAccount = command.SellerAccount,
        AmountMinor = command.Amount.Minor,
        Currency = command.Amount.Currency.Code,
        PaymentMethodToken = command.PaymentMethod.Token ?? string.Empty,
        ReturnUrl = command.PaymentMethod.ReturnUrl,
        BuyerId = command.BuyerId,
        Status = PaymentOrderStatus.NotStarted,
        History = [new PaymentOrderHistoryEntry(PaymentOrderStatus.NotStarted, now)],
        CreatedAt = now,
        UpdatedAt = now,
    };

    /// <summary>
    /// Only its own checkout releases an order, and only one it never let go (or, stored by an earlier build, not started).
    /// The stored flag alone does not prove the PSP never heard of it (it stays stored over the first call): the checkout
    /// does, since it lets orders go only once all exist and never undoes its creation after that.
    /// </summary>
    public static bool MayRelease(PaymentOrderState state, string checkoutId) =>
        state.Exists && state.CheckoutId == checkoutId && state.NotLetGoByCheckout();
}
