namespace Payments.Tests.Infrastructure;

/// <summary>
/// A server of its own for every test of a collection (the test defaults plus <see cref="Settings"/>), started once and
/// deleted with its data directory at the end; tests use fresh ids so they never share grains.
/// </summary>
public abstract class DedicatedServerFixture : IAsyncLifetime
{
    private TestServer? _server;

    public TestServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>What this server sets beyond the test defaults.</summary>
    protected virtual IDictionary<string, string?>? Settings => null;

    public virtual async Task InitializeAsync() => _server = await TestServer.StartAsync(TestServer.NewDataDirectory(), Settings);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            Directory.Delete(_server.DataDirectory, recursive: true);
        }
    }
}

/// <summary>
/// The shared server: the test defaults, but the invariants check no sample of orders against the PSP. Its tests make the
/// PSP and our books differ on purpose (WebhookTests sends forged, correctly signed payment_intent.succeeded events for
/// orders the PSP never charged), so a random sample would fail whichever test happened to look. The PSP checks run on
/// InvariantsTests' own server and in the chaos soak (psp=full).
/// </summary>
public sealed class ServerFixture : DedicatedServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Operations:InvariantsPspSample"] = "0" };
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
