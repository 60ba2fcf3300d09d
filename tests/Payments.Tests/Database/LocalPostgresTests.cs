using Payments.Database;

namespace Payments.Tests.Database;

public sealed class LocalPostgresTests
{
    [Fact]
    public void Without_server_binaries_the_error_says_how_to_install_them_or_what_to_configure()
    {
        var empty = Directory.CreateTempSubdirectory("no-postgres").FullName;
        try
        {
            var error = Assert.Throws<InvalidOperationException>(() => PostgresBinaries.Locate(empty, Path.Combine(empty, "usr-lib-postgresql")));

            Assert.Contains("apt-get install postgresql", error.Message, StringComparison.Ordinal);
            Assert.Contains("ConnectionStrings:Payments", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void Finds_the_newest_debian_installation_when_path_has_none()
    {
        var root = Directory.CreateTempSubdirectory("pg-root").FullName;
        try
        {
            foreach (var version in new[] { "9", "15", "13" })
            {
                var bin = Directory.CreateDirectory(Path.Combine(root, version, "bin")).FullName;
                File.WriteAllText(Path.Combine(bin, "initdb"), string.Empty);
                File.WriteAllText(Path.Combine(bin, "pg_ctl"), string.Empty);
            }

            var binaries = PostgresBinaries.Locate(string.Empty, root);

            Assert.Equal(Path.Combine(root, "15", "bin", "initdb"), binaries.InitDb);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}

public sealed class LocalPostgresLifecycleTests
{
    [Fact]
    public async Task A_server_left_running_by_a_killed_process_is_reused_and_the_schema_is_applied_once()
    {
        var dataDirectory = Infrastructure.TestServer.NewDataDirectory();
        try
        {
            // The first owner "dies" without stopping its server: it is simply never disposed before the second starts.
            var abandoned = await LocalPostgres.StartAsync(dataDirectory, durable: false, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, CancellationToken.None);
            await using (var second = await PaymentsDatabase.OpenAsync(null, dataDirectory, durable: false, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, CancellationToken.None))
            {
                Assert.Equal(abandoned.Port, new Npgsql.NpgsqlConnectionStringBuilder(second.ConnectionString).Port);
                await SchemaMigrator.ApplyAsync(second.DataSource, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, CancellationToken.None);
                await using var command = second.DataSource.CreateCommand("SELECT string_agg(script, ',' ORDER BY script) FROM schema_migrations");
                Assert.Equal(string.Join(',', SchemaMigrator.ScriptNames.Select(Path.GetFileName)), await command.ExecuteScalarAsync());
            }

            Assert.False(File.Exists(Path.Combine(dataDirectory, "postgres", "postmaster.pid")), "the reusing owner did not stop the server");
            await abandoned.DisposeAsync();
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
