using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Payments.Psp;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>The production PSP adapter (Stripe.net) against the simulator over HTTP: outcome classes and idempotency.</summary>
[Collection(ServerCollection.Name)]
public sealed class StripePspClientTests(ServerFixture fixture)
{
    private readonly HttpClient _psp = fixture.Server.CreatePspClient();

    [Theory]
    [InlineData("pm_card_visa", PspOutcomeKind.Succeeded, null)]
    [InlineData("tok_visa", PspOutcomeKind.Succeeded, null)]
    [InlineData("pm_card_chargeDeclined", PspOutcomeKind.Declined, "card_declined")]
    [InlineData("pm_card_chargeDeclinedInsufficientFunds", PspOutcomeKind.Declined, "insufficient_funds")]
    public async Task Test_tokens_give_their_outcome(string token, PspOutcomeKind kind, string? failureCode)
    {
        var orderId = Ids.New("po");

        var outcome = await Client(fixture.Server.PspAddress).ChargeAsync(Request(orderId, token, 1_000), CancellationToken.None);

        Assert.Equal(kind, outcome.Kind);
        Assert.Equal(failureCode, outcome.FailureCode);
        Assert.StartsWith("pi_", outcome.PspReference, StringComparison.Ordinal);
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Fact]
    public async Task The_same_idempotency_key_returns_the_same_intent_and_other_parameters_are_refused()
    {
        var orderId = Ids.New("po");
        var client = Client(fixture.Server.PspAddress);

        var first = await client.ChargeAsync(Request(orderId, "pm_card_visa", 500), CancellationToken.None);
        var retried = await client.ChargeAsync(Request(orderId, "pm_card_visa", 500), CancellationToken.None);
        var otherAmount = await client.ChargeAsync(Request(orderId, "pm_card_visa", 501), CancellationToken.None);

        Assert.Equal(PspOutcomeKind.Succeeded, retried.Kind);
        Assert.Equal(first.PspReference, retried.PspReference);
        Assert.Equal(PspOutcomeKind.Declined, otherAmount.Kind);
        Assert.Equal("idempotency_error", otherAmount.FailureCode);
        Assert.Single(await _psp.PaymentIntentsForAsync(orderId));
    }

    [Fact]
    public async Task A_psp_that_never_answers_is_an_unknown_outcome_not_a_decline()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var address = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}");

        var outcome = await Client(address, TimeSpan.FromMilliseconds(300)).ChargeAsync(Request(Ids.New("po"), "pm_card_visa", 100), CancellationToken.None);

        Assert.Equal(PspOutcomeKind.Unknown, outcome.Kind);
        Assert.Equal("timeout", outcome.FailureCode);
    }

    [Fact]
    public async Task A_refused_connection_is_an_unknown_outcome()
    {
        var address = new Uri($"http://127.0.0.1:{FreePort.Next()}");

        var outcome = await Client(address).ChargeAsync(Request(Ids.New("po"), "pm_card_visa", 100), CancellationToken.None);

        Assert.Equal(PspOutcomeKind.Unknown, outcome.Kind);
        Assert.Equal("connection_error", outcome.FailureCode);
    }

    private static StripePspClient Client(Uri baseUrl, TimeSpan? timeout = null)
    {
        var options = new PspOptions { BaseUrl = baseUrl.ToString().TrimEnd('/'), RequestTimeout = timeout ?? TimeSpan.FromSeconds(10) };
        return new StripePspClient(new HttpClient { Timeout = options.RequestTimeout }, Options.Create(options));
    }

    private static PspChargeRequest Request(string orderId, string token, long minor) =>
        new(orderId, minor, "USD", token, new Dictionary<string, string>());
}
