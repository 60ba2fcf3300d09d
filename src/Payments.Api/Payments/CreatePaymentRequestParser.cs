using System.Text.Json;
using Payments.Core.Checkout;
using Payments.Core.Ids;
using Payments.Core.Money;
using Payments.Core.PaymentOrders;

namespace Payments.Api.Payments;

/// <summary>The validated content of POST /v1/payments: parsed at the edge into domain values.</summary>
public sealed record CreatePaymentRequest(string CheckoutId, string BuyerId, PaymentMethod PaymentMethod, IReadOnlyList<CheckoutOrderLine> Orders);

/// <summary>Reads the JSON body field by field, so that each bad field gets its own message.</summary>
public static class CreatePaymentRequestParser
{
    public const int OrdersMax = 100;
    private const int TextLengthMax = 2048;

    public static CreatePaymentRequest? Parse(JsonElement body, Dictionary<string, string[]> errors)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            Add(errors, "$", "the body must be a JSON object");
            return null;
        }

        var checkoutId = RequiredId(body, "checkout_id", "checkout_id", errors);
        var buyerId = ParseBuyer(body, errors);
        var method = ParsePaymentMethod(body, errors);
        var orders = ParseOrders(body, errors);
        return errors.Count == 0 ? new CreatePaymentRequest(checkoutId!, buyerId!, method!, orders!) : null;
    }

    private static string? ParseBuyer(JsonElement body, Dictionary<string, string[]> errors)
    {
        if (!body.TryGetProperty("buyer", out var buyer) || buyer.ValueKind != JsonValueKind.Object)
        {
            Add(errors, "buyer", "is required and must be an object");
            return null;
        }

        var id = RequiredText(buyer, "id", "buyer.id", errors);
        if (buyer.TryGetProperty("email", out var email) && email.ValueKind != JsonValueKind.Null)
        {
            var text = email.ValueKind == JsonValueKind.String ? email.GetString()! : null;
            if (text is null || text.Length > 254 || !text.Contains('@', StringComparison.Ordinal))
            {
                Add(errors, "buyer.email", "must be an e-mail address");
            }
        }

        return id;
    }

    private static PaymentMethod? ParsePaymentMethod(JsonElement body, Dictionary<string, string[]> errors)
    {
        if (!body.TryGetProperty("payment_method", out var method) || method.ValueKind != JsonValueKind.Object)
        {
            Add(errors, "payment_method", "is required and must be an object");
            return null;
        }

        var type = RequiredText(method, "type", "payment_method.type", errors);
        switch (type)
        {
            case null:
                return null;
            case "token":
                var token = RequiredText(method, "token", "payment_method.token", errors);
                if (token is not null && !ClientId.IsValid(token))
                {
                    Add(errors, "payment_method.token", "must be a PSP token of letters, digits, '_' and '-'");
                    return null;
                }

                return token is null ? null : PaymentMethod.ForToken(token);
            case "hosted_page":
                var returnUrl = RequiredText(method, "return_url", "payment_method.return_url", errors);
                if (returnUrl is not null && !(Uri.TryCreate(returnUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
                {
                    Add(errors, "payment_method.return_url", "must be an absolute http(s) URL");
                    return null;
                }

                return returnUrl is null ? null : PaymentMethod.ForHostedPage(returnUrl);
            default:
                Add(errors, "payment_method.type", "must be 'token' or 'hosted_page'");
                return null;
        }
    }

    private static List<CheckoutOrderLine>? ParseOrders(JsonElement body, Dictionary<string, string[]> errors)
    {
        if (!body.TryGetProperty("orders", out var orders) || orders.ValueKind != JsonValueKind.Array)
        {
            Add(errors, "orders", "is required and must be an array");
            return null;
        }

        var count = orders.GetArrayLength();
        if (count is < 1 or > OrdersMax)
        {
            Add(errors, "orders", $"must hold 1 to {OrdersMax} orders");
            return null;
        }

        var lines = new List<CheckoutOrderLine>(count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var order in orders.EnumerateArray())
        {
            var path = $"orders[{index++}]";
            if (order.ValueKind != JsonValueKind.Object)
            {
                Add(errors, path, "must be an object");
                continue;
            }

            var paymentOrderId = RequiredId(order, "payment_order_id", $"{path}.payment_order_id", errors);
            if (paymentOrderId is not null && !seen.Add(paymentOrderId))
            {
                Add(errors, $"{path}.payment_order_id", $"'{paymentOrderId}' appears more than once");
            }

            var seller = RequiredId(order, "seller_account", $"{path}.seller_account", errors);
            var amount = ParseAmount(order, path, errors);
            if (paymentOrderId is not null && seller is not null && amount is { } money)
            {
                lines.Add(new CheckoutOrderLine(paymentOrderId, seller, money));
            }
        }

        return lines;
    }

    private static Money? ParseAmount(JsonElement order, string path, Dictionary<string, string[]> errors)
    {
        Currency? currency = null;
        if (!order.TryGetProperty("currency", out var currencyElement) || currencyElement.ValueKind != JsonValueKind.String)
        {
            Add(errors, $"{path}.currency", "is required and must be a string");
        }
        else if (!Currency.TryGet(currencyElement.GetString(), out currency))
        {
            Add(errors, $"{path}.currency", "must be a supported upper-case ISO 4217 code");
        }

        if (!order.TryGetProperty("amount", out var amountElement) || amountElement.ValueKind != JsonValueKind.String)
        {
            Add(errors, $"{path}.amount", "is required and must be a decimal string such as \"100.00\"");
            return null;
        }

        if (currency is null)
        {
            return null;
        }

        if (!Money.TryParsePositive(amountElement.GetString(), currency, out var money, out var error))
        {
            Add(errors, $"{path}.amount", error!);
            return null;
        }

        if (money.Minor > Money.OrderMaxMinor(currency))
        {
            Add(errors, $"{path}.amount", $"is more than one payment order may charge: {Money.FormatMinor(Money.OrderMaxMinor(currency), currency.MinorDigits)} {currency.Code}");
            return null;
        }

        return money;
    }

    private static string? RequiredId(JsonElement parent, string name, string path, Dictionary<string, string[]> errors)
    {
        var text = RequiredText(parent, name, path, errors);
        if (text is not null && !ClientId.IsValid(text))
        {
            Add(errors, path, $"must be 1-{ClientId.LengthMax} characters of A-Z, a-z, 0-9, '_' and '-'");
            return null;
        }

        return text;
    }

    private static string? RequiredText(JsonElement parent, string name, string path, Dictionary<string, string[]> errors)
    {
        if (!parent.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String)
        {
            Add(errors, path, "is required and must be a string");
            return null;
        }

        var text = element.GetString()!;
        if (text.Length is 0 or > TextLengthMax)
        {
            Add(errors, path, $"must be 1-{TextLengthMax} characters");
            return null;
        }

        return text;
    }

    private static void Add(Dictionary<string, string[]> errors, string field, string message) =>
        errors[field] = errors.TryGetValue(field, out var existing) ? [.. existing, message] : [message];
}
