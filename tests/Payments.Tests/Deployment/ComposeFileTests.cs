using System.Reflection;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Payments.Server.Hosting;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Payments.Tests.Deployment;

/// <summary>
/// No container engine runs here, so docker-compose.yml is checked against the server it starts: its services and their
/// roles, that every setting it passes is one the server reads (and reads as meant), and that the services find each other.
/// </summary>
public sealed class ComposeFileTests
{
    private static readonly string Root = FindRoot();

    [Fact]
    public void The_compose_file_runs_postgres_the_simulator_two_silos_and_a_gateway_that_find_each_other()
    {
        var services = Services();
        Assert.Equal(["gateway", "postgres", "psp-simulator", "silo-1", "silo-2"], services.Keys.Order(StringComparer.Ordinal));
        Assert.All(services, service => Assert.True(service.Value.Children.ContainsKey(new YamlScalarNode("healthcheck")), $"{service.Key} has no health check"));

        var servers = services.Where(service => Scalar(service.Value, "image") == "payments-orleans" && !service.Value.Children.ContainsKey(new YamlScalarNode("entrypoint")))
            .ToDictionary(service => service.Key, service => Settings(service.Value));
        var roles = servers.ToDictionary(server => server.Key, server => server.Value.GetSection(ServerOptions.SectionName).Get<ServerOptions>()!);
        Assert.Equal([("gateway", ServerRole.Gateway), ("silo-1", ServerRole.Silo), ("silo-2", ServerRole.Silo)],
            roles.OrderBy(role => role.Key, StringComparer.Ordinal).Select(role => (role.Key, role.Value.Role)));
        foreach (var (name, options) in roles.Where(role => role.Value.Role == ServerRole.Silo))
        {
            // A silo advertises the name other containers reach it by.
            Assert.Equal((name, name), (options.AdvertisedAddress, Scalar(services[name], "hostname")));
            Assert.False(options.RunPspSimulator);
        }

        foreach (var (name, settings) in servers)
        {
            AssertKnownSettings(name, settings);
            var database = new NpgsqlConnectionStringBuilder(settings.GetConnectionString("Payments"));
            Assert.Equal(("postgres", 5432), (database.Host, database.Port));
            Assert.Equal((Scalar(services["postgres"], "environment", "POSTGRES_DB"), Scalar(services["postgres"], "environment", "POSTGRES_USER"), Scalar(services["postgres"], "environment", "POSTGRES_PASSWORD")),
                (database.Database, database.Username, database.Password));
            Assert.Equal(new Uri("http://psp-simulator:5090"), new Uri(settings["Psp:BaseUrl"]!));
        }

        // The simulator listens where the servers look for it, and sends its signed webhooks to the gateway, with the servers' secret.
        var simulator = ((YamlSequenceNode)services["psp-simulator"]["command"]).Children.Select(node => ((YamlScalarNode)node).Value!).ToArray();
        Assert.Equal("http://0.0.0.0:5090", After(simulator, "--urls"));
        Assert.Equal("http://gateway:8080/v1/psp/webhooks", After(simulator, "--webhook-url"));
        Assert.Equal(servers["gateway"]["Psp:WebhookSecrets:0"], After(simulator, "--webhook-secret"));
        Assert.Contains("127.0.0.1:5080:8080", ((YamlSequenceNode)services["gateway"]["ports"]).Children.Select(node => ((YamlScalarNode)node).Value));
    }

    [Fact]
    public void The_image_is_built_in_stages_and_runs_unprivileged()
    {
        var dockerfile = File.ReadAllLines(Path.Combine(Root, "Dockerfile"));
        Assert.Equal(2, dockerfile.Count(line => line.StartsWith("FROM ", StringComparison.Ordinal)));
        var user = Assert.Single(dockerfile, line => line.StartsWith("USER ", StringComparison.Ordinal));
        Assert.NotEqual("USER root", user);
        Assert.Contains(dockerfile, line => line.Contains("/app/server/Payments.Server.dll", StringComparison.Ordinal));
        Assert.Contains(dockerfile, line => line.Contains("Payments.PspSimulator.csproj", StringComparison.Ordinal) && line.Contains("publish", StringComparison.Ordinal));
    }

    /// <summary>Every Server:* setting is a property of <see cref="ServerOptions"/>; the rest are sections the server reads.</summary>
    private static void AssertKnownSettings(string service, IConfiguration settings)
    {
        var serverProperties = typeof(ServerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(property => property.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var setting in settings.AsEnumerable().Where(pair => pair.Value is not null))
        {
            var section = setting.Key.Split(':')[0];
            Assert.True(section is "ConnectionStrings" or "Psp" or "Server", $"{service}: {setting.Key} is not a setting of the server");
            if (section == "Server")
            {
                Assert.Contains(setting.Key.Split(':')[1], serverProperties);
            }
        }
    }

    private static Dictionary<string, YamlMappingNode> Services()
    {
        using var reader = new StreamReader(Path.Combine(Root, "docker-compose.yml"));
        var stream = new YamlStream();
        // Compose files share settings through anchors and merge keys ("<<: *payments-server").
        stream.Load(new MergingParser(new Parser(reader)));
        var root = (YamlMappingNode)stream.Documents.Single().RootNode;
        return ((YamlMappingNode)root["services"]).Children.ToDictionary(pair => ((YamlScalarNode)pair.Key).Value!, pair => (YamlMappingNode)pair.Value);
    }

    /// <summary>A service's environment as the server would see it (Section__Key is Section:Key).</summary>
    private static IConfiguration Settings(YamlMappingNode service) => new ConfigurationBuilder()
        .AddInMemoryCollection(((YamlMappingNode)service["environment"]).Children
            .Select(pair => KeyValuePair.Create(((YamlScalarNode)pair.Key).Value!.Replace("__", ":", StringComparison.Ordinal), ((YamlScalarNode)pair.Value).Value)))
        .Build();

    private static string? Scalar(YamlMappingNode node, params string[] path)
    {
        YamlNode current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out var next))
            {
                return null;
            }

            current = next;
        }

        return (current as YamlScalarNode)?.Value;
    }

    private static string After(string[] arguments, string name) => arguments[Array.IndexOf(arguments, name) + 1];

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PaymentsOrleans.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (PaymentsOrleans.sln) is not above the test binaries.");
    }
}
