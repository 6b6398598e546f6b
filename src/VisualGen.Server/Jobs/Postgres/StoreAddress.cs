using Npgsql;

namespace VisualGen.Server.Jobs.Postgres;

/// <summary>
/// <c>--store postgres://user:password@host:port/database</c> (or <c>VISUALGEN_STORE</c>): the PostgreSQL server whose
/// tables every replica shares. <see cref="Display"/> names it without the password, for logs and errors.
/// </summary>
public sealed record StoreAddress(string Host, int Port, string Database, string? User, string? Password)
{
    public const string Variable = "VISUALGEN_STORE";

    /// <summary>Parses the URL; anything else is an ArgumentException naming the problem (never the password).</summary>
    public static StoreAddress Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("postgres" or "postgresql"))
            throw new ArgumentException($"--store must be a postgres://user:password@host:port/database URL, got '{Redacted(url)}'");
        string database = Uri.UnescapeDataString(u.AbsolutePath.Trim('/'));
        if (u.Host.Length == 0 || database.Length == 0 || database.Contains('/'))
            throw new ArgumentException($"--store {Redacted(url)}: a host and a database name are needed (postgres://user:password@host:port/database)");
        if (u.Query.Length > 0 || u.Fragment.Length > 0)
            throw new ArgumentException($"--store {Redacted(url)}: query parameters and fragments are not taken");
        string? user = null, password = null;
        if (u.UserInfo.Length > 0)
        {
            int colon = u.UserInfo.IndexOf(':');
            user = Uri.UnescapeDataString(colon < 0 ? u.UserInfo : u.UserInfo[..colon]);
            if (colon >= 0) password = Uri.UnescapeDataString(u.UserInfo[(colon + 1)..]);
        }
        return new StoreAddress(u.Host, u.IsDefaultPort || u.Port < 0 ? 5432 : u.Port, database, user, password);
    }

    /// <summary>postgres://user@host:port/database: no password.</summary>
    public string Display => $"postgres://{(User is null ? "" : User + "@")}{Host}:{Port}/{Database}";

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Database = Database,
        Username = User,
        Password = Password,
        Timeout = 5, // seconds to connect: an unreachable store is reported, not waited on
        CommandTimeout = 30,
        KeepAlive = 10, // a LISTEN connection notices a server that went away
        ApplicationName = "visualgen-server",
    }.ConnectionString;

    static string Redacted(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && u.UserInfo.Contains(':') ? url.Replace(u.UserInfo, u.UserInfo[..u.UserInfo.IndexOf(':')] + ":***") : url;
}
