using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Payments.Api;

/// <summary>The <c>limit</c> of a listing: a whole number from 1 to the listing's maximum, its default when absent.</summary>
public static class PageLimit
{
    /// <summary>The limit asked for, or <paramref name="defaultLimit"/>; a bad one is added to <paramref name="errors"/>.</summary>
    public static int Read(IQueryCollection query, int defaultLimit, int max, IDictionary<string, string[]> errors)
    {
        if (query["limit"].ToString() is not { Length: > 0 } text)
        {
            return defaultLimit;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit is < 1 || limit > max)
        {
            errors["limit"] = [$"must be a whole number from 1 to {max}"];
            return defaultLimit;
        }

        return limit;
    }
}
