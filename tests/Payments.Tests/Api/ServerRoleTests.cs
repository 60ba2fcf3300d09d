using System.Net;
using Payments.PspSimulator;
using Payments.Tests.Infrastructure;

namespace Payments.Tests.Api;

/// <summary>The production shape: a silo process and a gateway process, clustered through the PostgreSQL membership table.</summary>
public sealed class ServerRoleTests
{
    [Fact]
    public async Task A_gateway_process_serves_the_api_through_a_separate_silo_process()
    {
        var dataDirectory = TestServer.NewDataDirectory();
        // Only role All hosts the simulator: here the PSP runs on its own, as it would in production.
        var pspUrl = $"http://127.0.0.1:{FreePort.Next()}";
        await using var psp = PspSimulatorApplication.Build([], pspUrl);
        await psp.StartAsync();
        try
        {
            await using var silo = await TestServer.StartAsync(dataDirectory, new Dictionary<string, string?> { ["Server:Role"] = "Silo", ["Psp:BaseUrl"] = pspUrl });
            await using var gateway = await TestServer.StartAsync(dataDirectory, new Dictionary<string, string?>
            {
                ["Server:Role"] = "Gateway",
                ["ConnectionStrings:Payments"] = silo.Server.DatabaseConnectionString,
            });
            var orderId = Ids.New("po");

            using var created = await gateway.CreateClient().PostJsonAsync("/v1/payments", ApiCalls.Checkout(Ids.New("chk"), "pm_card_visa", (orderId, Ids.New("seller"), "15.00", "USD")), Ids.New("key"));
            using var siloHasNoApi = await silo.CreateClient().GetAsync($"/v1/payments/{orderId}");

            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal("SUCCEEDED", (await created.JsonAsync()).Str("status"));
            Assert.Equal(HttpStatusCode.NotFound, siloHasNoApi.StatusCode);
            Assert.Equal("SUCCESS", (await gateway.CreateClient().GetJsonAsync($"/v1/payments/{orderId}")).Str("status"));
            using var ready = await gateway.CreateClient(apiKey: null).GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
