using System.Net;
using System.Net.Sockets;

namespace Payments.Core.Events;

/// <summary>Which addresses a merchant's webhook may reach: the public internet, unless private networks are allowed.</summary>
public static class WebhookAddresses
{
    /// <summary>Loopback, private (RFC 1918, unique local), link-local, carrier-grade NAT, unspecified, multicast: all ours or nobody's.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            if (EmbeddedIPv4(bytes) is { } embedded)
            {
                return IsPrivate(embedded);
            }

            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (bytes[0] & 0xfe) == 0xfc;
        }

        var b = address.GetAddressBytes();
        return b[0] == 10
            || b[0] == 0
            || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254)
            || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)
            || (b[0] == 198 && b[1] is 18 or 19)
            || (b[0] == 192 && b[1] == 0 && b[2] == 0)
            || b[0] >= 224;
    }

    /// <summary>The IPv4 address inside an IPv6 one that carries it (NAT64 64:ff9b::/96, 6to4 2002::/16, IPv4-compatible ::a.b.c.d).</summary>
    private static IPAddress? EmbeddedIPv4(byte[] bytes)
    {
        var nat64 = bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff && bytes[3] == 0x9b && bytes.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0;
        if (nat64 || bytes.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0)
        {
            return new IPAddress(bytes.AsSpan(12, 4));
        }

        return bytes[0] == 0x20 && bytes[1] == 0x02 ? new IPAddress(bytes.AsSpan(2, 4)) : null;
    }

    /// <summary>
    /// Why a webhook URL is refused, or null: absolute http(s), no credentials in it, and (unless private networks are
    /// allowed) not a literal private address or a local name. Names are checked again when a delivery connects.
    /// </summary>
    public static string? Refusal(string? url, bool allowPrivateNetworks)
    {
        if (string.IsNullOrWhiteSpace(url) || url.Length > 2048 || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "url must be an absolute http or https URL of at most 2048 characters.";
        }

        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            return "url must use http or https.";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "url must not carry credentials.";
        }

        if (allowPrivateNetworks)
        {
            return null;
        }

        var host = uri.IdnHost;
        if ((IPAddress.TryParse(host.Trim('[', ']'), out var address) && IsPrivate(address))
            || host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".internal", StringComparison.OrdinalIgnoreCase)
            || !host.Contains('.'))
        {
            return "url must be on the public internet: loopback and private addresses are refused outside Development.";
        }

        return null;
    }
}
