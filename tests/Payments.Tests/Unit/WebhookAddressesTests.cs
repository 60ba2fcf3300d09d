using System.Net;
using Payments.Core.Events;

namespace Payments.Tests.Unit;

public sealed class WebhookAddressesTests
{
    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("224.0.0.1", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("::ffff:10.0.0.1", true)]
    [InlineData("2606:4700::1111", false)]
    [InlineData("64:ff9b::a00:1", true)]
    [InlineData("64:ff9b::808:808", false)]
    [InlineData("2002:c0a8:0101::1", true)]
    [InlineData("::10.0.0.1", true)]
    [InlineData("198.18.0.1", true)]
    [InlineData("192.0.0.8", true)]
    public void Private_and_loopback_addresses_are_told_from_public_ones(string address, bool isPrivate) =>
        Assert.Equal(isPrivate, WebhookAddresses.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("https://hooks.example.com/payments", false, null)]
    [InlineData("http://hooks.example.com:8080/payments", false, null)]
    [InlineData("http://127.0.0.1:9000/hooks", true, null)]
    [InlineData("http://127.0.0.1:9000/hooks", false, "public internet")]
    [InlineData("http://localhost/hooks", false, "public internet")]
    [InlineData("http://[::1]/hooks", false, "public internet")]
    [InlineData("http://10.0.0.5/hooks", false, "public internet")]
    [InlineData("http://metadata.internal/hooks", false, "public internet")]
    [InlineData("http://intranet/hooks", false, "public internet")]
    [InlineData("ftp://hooks.example.com/", true, "http or https")]
    [InlineData("https://me:secret@hooks.example.com/", true, "credentials")]
    [InlineData("/hooks", true, "http or https")]
    [InlineData("hooks", true, "absolute")]
    [InlineData("", true, "absolute")]
    public void A_webhook_url_is_refused_for_its_reason(string url, bool allowPrivateNetworks, string? reason)
    {
        var refusal = WebhookAddresses.Refusal(url, allowPrivateNetworks);
        if (reason is null)
        {
            Assert.Null(refusal);
        }
        else
        {
            Assert.Contains(reason, refusal);
        }
    }
}
