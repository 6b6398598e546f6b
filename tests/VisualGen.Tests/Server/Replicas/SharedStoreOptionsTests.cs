using VisualGen.Server.Hosting;
using VisualGen.Server.Jobs.Postgres;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server.Replicas;

/// <summary>--store, --outputs and --lease on the command line (no database needed): bad values are refused with a line naming them.</summary>
public sealed class SharedStoreOptionsTests
{
    static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public void The_store_comes_from_the_flag_or_the_environment()
    {
        var o = ServerOptions.Parse(["--store", "postgres://vg:pw@db.internal:6543/visualgen", "--outputs", "/mnt/outputs", "--lease", "10s"]);
        Assert.Equal(("postgres://vg:pw@db.internal:6543/visualgen", "/mnt/outputs", TimeSpan.FromSeconds(10)), (o.Store, o.OutputsDir, o.Lease));
        var address = StoreAddress.Parse(o.Store!);
        Assert.Equal(new StoreAddress("db.internal", 6543, "visualgen", "vg", "pw"), address);
        Assert.Equal("postgres://vg@db.internal:6543/visualgen", address.Display);
        Assert.Equal(5432, StoreAddress.Parse("postgresql://host/jobs").Port);

        var env = ServerOptions.Parse(["--outputs", "/mnt/outputs"], name => name == StoreAddress.Variable ? "postgres://host/jobs" : null);
        Assert.Equal("postgres://host/jobs", env.Store);
        Assert.Equal(TimeSpan.FromSeconds(30), env.Lease);
        Assert.Null(ServerOptions.Parse([], _ => null).Store); // the data folder's store, as before
    }

    [Theory]
    [InlineData("mysql://host/jobs", "--store must be a postgres://")]
    [InlineData("postgres://host", "a host and a database name are needed")]
    [InlineData("postgres://u:secret@host/jobs?sslmode=require", "query parameters")]
    public void A_bad_store_url_is_refused_naming_it_without_the_password(string url, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--store", url, "--outputs", "/tmp"]));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("secret", e.Message);
    }

    [Fact]
    public void A_store_needs_a_shared_outputs_folder_and_a_lease_needs_a_store()
    {
        Assert.Contains("--store needs --outputs", Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--store", "postgres://host/jobs"])).Message);
        Assert.Contains("--lease applies to a shared store", Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--lease", "5s"])).Message);
        Assert.Contains("at least 1s", Assert.Throws<ArgumentException>(() =>
            ServerOptions.Parse(["--store", "postgres://host/jobs", "--outputs", "/tmp", "--lease", "0.5s"])).Message);
    }

    [Fact]
    public void An_unreachable_store_stops_the_start_with_one_line_and_exit_code_1()
    {
        int port = FreePort();
        var (code, _, err) = ServerProcess.RunToExit("--store", $"postgres://vg:secret@127.0.0.1:{port}/jobs", "--outputs", Fixtures.TempDir("vg-outputs"),
            "--data", Fixtures.TempDir("vg-data"), "--port", "0");
        Assert.Equal(1, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, err);
        Assert.StartsWith($"VisualGen.Server: cannot start: The job store postgres://vg@127.0.0.1:{port}/jobs is unreachable", lines[0]);
        Assert.DoesNotContain("secret", err);
    }
}
