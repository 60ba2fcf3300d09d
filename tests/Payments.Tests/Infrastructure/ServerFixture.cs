namespace Payments.Tests.Infrastructure;

/// <summary>One server for every test of the collection; tests use fresh ids so they never share grains.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private TestServer? _server;

    public TestServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(TestServer.NewDataDirectory());

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            Directory.Delete(_server.DataDirectory, recursive: true);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
