using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace VisualGen.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL cluster from the machine's server binaries (Debian's postgresql package:
/// /usr/lib/postgresql/N/bin): initdb into a temporary folder, pg_ctl on a free loopback port, trust authentication for
/// the one user <see cref="User"/>. initdb refuses to run as root, so as root the cluster belongs to the postgres user
/// and its commands run through runuser. Each test takes a database of its own (<see cref="NewDatabase"/>).
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    public const string User = "visualgen";

    readonly string _bin, _dir;
    readonly bool _asPostgresUser;

    public int Port { get; }

    PostgresCluster(string bin)
    {
        _bin = bin;
        _asPostgresUser = Environment.UserName == "root";
        _dir = Path.Combine(Path.GetTempPath(), $"vg-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
        if (_asPostgresUser) Run("/bin/chown", "postgres", _dir);
        Port = FreePort();
        Pg("initdb", "-D", DataDir, "-U", User, "--auth=trust", "-E", "UTF8", "--no-sync");
        Start();
    }

    string DataDir => Path.Combine(_dir, "data");

    /// <summary>The bin folder of the newest installed server version, or null.</summary>
    public static string? FindBinaries() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out int v) ? v : 0).FirstOrDefault()
            : null;

    public static PostgresCluster Create() =>
        new(FindBinaries() ?? throw new InvalidOperationException("PostgreSQL server binaries are not installed (apt-get install postgresql)"));

    /// <summary>A new empty database; its postgres:// URL, as --store takes it.</summary>
    public string NewDatabase()
    {
        string name = $"t{Guid.NewGuid():N}";
        using var c = new NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username={User};Database=postgres;Pooling=false");
        c.Open();
        using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
        cmd.ExecuteNonQuery();
        return Url(name);
    }

    public string Url(string database) => $"postgres://{User}@127.0.0.1:{Port}/{database}";

    public static string ConnectionString(string url)
    {
        var u = new Uri(url);
        return $"Host={u.Host};Port={u.Port};Username={User};Database={u.AbsolutePath.Trim('/')};Pooling=false";
    }

    /// <summary>Stops the server (fast: sessions are ended, as a restart by an operator does).</summary>
    public void Stop() => Pg("pg_ctl", "-D", DataDir, "-m", "fast", "-w", "stop");

    public void Start() =>
        Pg("pg_ctl", "-D", DataDir, "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "60",
            "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start");

    public string Log => File.Exists(Path.Combine(_dir, "server.log")) ? File.ReadAllText(Path.Combine(_dir, "server.log")) : "";

    void Pg(string tool, params string[] args) => Run(Path.Combine(_bin, tool), args);

    void Run(string file, params string[] args)
    {
        var psi = _asPostgresUser && !file.StartsWith("/bin/", StringComparison.Ordinal)
            ? new ProcessStartInfo("runuser") { ArgumentList = { "-u", "postgres", "--", file } }
            : new ProcessStartInfo(file);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.WorkingDirectory = _dir;
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(); throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 120 s"); }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed ({p.ExitCode}): {output.Result}{error.Result}\n{Log}");
    }

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        try { Pg("pg_ctl", "-D", DataDir, "-m", "immediate", "-w", "stop"); }
        catch (InvalidOperationException) { } // already stopped
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>A fact that starts PostgreSQL; skipped (with the reason) where its server binaries are not installed.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresCluster.FindBinaries() is null)
            Skip = "PostgreSQL server binaries are not installed in /usr/lib/postgresql/*/bin (apt-get install postgresql; .ci/run installs it)";
    }
}
