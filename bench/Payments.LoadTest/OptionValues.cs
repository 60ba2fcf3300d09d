using System.Globalization;

namespace Payments.LoadTest;

/// <summary>Reading the values of command-line options, shared by the pay-in and the reconciliation bench.</summary>
internal static class OptionValues
{
    /// <summary>A whole number within bounds; false, with what is wrong in <paramref name="error"/>, otherwise.</summary>
    public static bool TryInt(string text, int min, int max, out int value, ref string? error, string name)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
        {
            return true;
        }

        error = $"{name} must be an integer in {min}..{max}, got '{text}'";
        return false;
    }

    /// <summary>An absolute http(s) address; false, with what is wrong in <paramref name="error"/>, otherwise.</summary>
    public static bool TryHttpUrl(string text, out Uri url, ref string? error, string name)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out url!) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps))
        {
            return true;
        }

        error = $"{name} must be an absolute http(s) address, got '{text}'";
        return false;
    }
}
