using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace VisualGen.Server.Hosting;

/// <summary>
/// Whether the addresses the server will listen on can be bound, asked before the model loads: a port in use was
/// found only when Kestrel started, after minutes of loading, and the host logged its stack trace beside the one
/// line. Addresses whose host is a name other than localhost are left to Kestrel.
/// </summary>
public static partial class ListenCheck
{
    /// <summary>A listen address as --urls takes it (<see cref="ServerOptions"/> checks each against it): scheme, host (a
    /// name, an address, [IPv6], or Kestrel's * and +) and an optional port.</summary>
    [GeneratedRegex(@"^(?<scheme>https?)://(?<host>\[[^\]]+\]|[^:/\[\]]+)(?::(?<port>\d{1,5}))?/?$")]
    internal static partial Regex Address();

    /// <summary>Null when every address can be bound now, else why one cannot (naming it).</summary>
    public static string? Problem(string listenUrls)
    {
        foreach (string url in listenUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var m = Address().Match(url);
            if (!m.Success) continue;
            int port = m.Groups["port"].Success ? int.Parse(m.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture)
                : m.Groups["scheme"].Value == "https" ? 443 : 80;
            string host = m.Groups["host"].Value.Trim('[', ']');
            IPAddress? address = host switch
            {
                "*" or "+" => IPAddress.Any,
                _ when host.Equals("localhost", StringComparison.OrdinalIgnoreCase) => IPAddress.Loopback,
                _ => IPAddress.TryParse(host, out var ip) ? ip : null,
            };
            if (address is null || port == 0) continue;
            var listener = new TcpListener(address, port);
            try
            {
                listener.Start();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                return $"{url}: the address is already in use (another process listens on port {port}); choose another --port or --urls";
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
            {
                return $"{url}: permission denied to listen on port {port} (ports below 1024 need privileges); choose another --port or --urls";
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
            {
                return $"{url}: {address} is not an address of this machine";
            }
            finally
            {
                listener.Stop();
            }
        }
        return null;
    }
}
