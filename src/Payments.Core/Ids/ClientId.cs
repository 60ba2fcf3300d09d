namespace Payments.Core.Ids;

/// <summary>Rules for ids a client gives us (checkout_id, payment_order_id, seller_account, ...).</summary>
public static class ClientId
{
    public const int LengthMax = 64;

    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > LengthMax)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
