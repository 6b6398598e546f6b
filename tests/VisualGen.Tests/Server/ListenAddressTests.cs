using VisualGen.Server.Hosting;

namespace VisualGen.Tests.Server;

/// <summary>--urls is checked before Kestrel reads it (it read http://0.0.0.0:abc as port 80 of every interface), and
/// --port with --urls is refused: they both say where to listen.</summary>
public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8000")]
    [InlineData("http://0.0.0.0:8000/")]
    [InlineData("http://*:8000")]
    [InlineData("http://+:80")]
    [InlineData("https://example.internal:8443")]
    [InlineData("http://[::]:8000")]
    [InlineData("http://localhost:5000;http://10.0.0.2:5001")]
    [InlineData("http://127.0.0.1")]
    public void Addresses_kestrel_takes_are_kept(string urls)
    {
        Assert.Equal(urls, ServerOptions.Parse(["--urls", urls], _ => null).ListenUrls);
    }

    [Theory]
    [InlineData("http://0.0.0.0:abc")]
    [InlineData("0.0.0.0:8000")]
    [InlineData("ftp://127.0.0.1:21")]
    [InlineData("http://127.0.0.1:8000/v1")]
    [InlineData("http://127.0.0.1:99999")]
    [InlineData("http://127.0.0.1:8000;nonsense")]
    public void Malformed_addresses_are_refused_naming_them(string urls)
    {
        var e = Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--urls", urls], _ => null));
        Assert.StartsWith("--urls: '", e.Message);
        Assert.Contains("is not an http:// or https:// address", e.Message);
    }

    [Fact]
    public void Port_and_urls_together_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--port", "8000", "--urls", "http://0.0.0.0:8001"], _ => null));
        Assert.Equal("--port and --urls both say where to listen; give one (--urls takes the port in each URL)", e.Message);
        Assert.Equal("http://127.0.0.1:8123", ServerOptions.Parse(["--port", "8123"], _ => null).ListenUrls);
    }

    [Fact]
    public void A_port_in_use_is_found_before_the_model_loads()
    {
        var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
            Assert.Equal($"http://127.0.0.1:{port}: the address is already in use (another process listens on port {port}); choose another --port or --urls",
                ListenCheck.Problem($"http://127.0.0.1:{port}"));
            Assert.NotNull(ListenCheck.Problem($"http://localhost:{port}"));
        }
        finally { taken.Stop(); }
        Assert.Null(ListenCheck.Problem("http://127.0.0.1:0;http://example.internal:8443"));   // port 0 and names are Kestrel's
    }

    [Fact]
    public void A_missing_model_folder_is_a_start_failure_not_a_command_line_error()
    {
        // Program answers an IOException from Parse with "cannot start" and exit 1, as the CLI answers a missing model
        var e = Assert.Throws<DirectoryNotFoundException>(() => ServerOptions.Parse(["--model", "/nonexistent/model"], _ => null));
        Assert.Equal("--model: folder '/nonexistent/model' does not exist (nor a file of that name)", e.Message);
    }

    [Theory]
    [InlineData("--data")]
    [InlineData("--outputs")]
    [InlineData("--model")]
    [InlineData("--engine-cache")]
    public void An_empty_value_is_refused_naming_the_flag(string flag)
    {
        // --data "" put jobs/, videos/ and the lock file in the working folder
        var e = Assert.Throws<ArgumentException>(() => ServerOptions.Parse([flag, ""], _ => null));
        Assert.Equal($"{flag} needs a value, got an empty one", e.Message);
    }

    [Fact]
    public void A_flag_followed_by_another_flag_needs_a_value()
    {
        // --api-key --data DIR took "--data" as the API key, then refused DIR as an unknown argument
        var e = Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--api-key", "--data", "/srv/data"], _ => null));
        Assert.StartsWith("--api-key needs a value", e.Message);
        // a value that only starts with '-' is still a value
        Assert.Equal(["-k3y", "--not-a-flag"], ServerOptions.Parse(["--api-key", "-k3y", "--api-key", "--not-a-flag"], _ => null).ApiKeys);
    }
}
