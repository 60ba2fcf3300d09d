namespace Payments.Database;

/// <summary>Where the PostgreSQL server programs are: on PATH, or in Debian's /usr/lib/postgresql/&lt;version&gt;/bin.</summary>
public sealed record PostgresBinaries(string InitDb, string PgCtl)
{
    public const string MissingMessage =
        "PostgreSQL's server programs (initdb, pg_ctl) were not found on PATH or in /usr/lib/postgresql/*/bin. " +
        "Install them (Debian/Ubuntu: 'apt-get install postgresql') or point the server at an existing database " +
        "with ConnectionStrings:Payments (environment: ConnectionStrings__Payments=\"Host=...;Username=...;Database=...\").";

    public static PostgresBinaries Locate() => Locate(Environment.GetEnvironmentVariable("PATH") ?? string.Empty, "/usr/lib/postgresql");

    public static PostgresBinaries Locate(string path, string debianRoot)
    {
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (TryFolder(directory) is { } onPath)
            {
                return onPath;
            }
        }

        if (Directory.Exists(debianRoot))
        {
            var newestFirst = Directory.EnumerateDirectories(debianRoot)
                .Select(directory => (directory, version: int.TryParse(Path.GetFileName(directory), out var v) ? v : -1))
                .OrderByDescending(candidate => candidate.version);
            foreach (var (directory, _) in newestFirst)
            {
                if (TryFolder(Path.Combine(directory, "bin")) is { } installed)
                {
                    return installed;
                }
            }
        }

        throw new InvalidOperationException(MissingMessage);
    }

    private static PostgresBinaries? TryFolder(string directory)
    {
        var initDb = Path.Combine(directory, "initdb");
        var pgCtl = Path.Combine(directory, "pg_ctl");
        return File.Exists(initDb) && File.Exists(pgCtl) ? new PostgresBinaries(initDb, pgCtl) : null;
    }
}
