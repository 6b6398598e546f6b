using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace VisualGen.Server.Hosting;

/// <summary>
/// Where clients reach this server, for the URLs it answers: --public-url when given, else the first address it
/// listens on. Never the request's Host header: a client could forge it and have links handed out (and cached by
/// proxies) that point at a host of its choosing.
/// </summary>
public sealed class PublicAddress(ServerOptions options, IServer server)
{
    /// <summary>The absolute URL of <paramref name="path"/> ("/v1/...").</summary>
    public string UrlOf(string path) => Base() + path;

    string Base() => options.PublicUrl
        ?? server.Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First().TrimEnd('/');
}
