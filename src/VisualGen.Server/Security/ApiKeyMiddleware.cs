using System.Security.Cryptography;
using System.Text;
using VisualGen.Server.Api;

namespace VisualGen.Server.Security;

/// <summary>
/// When keys are configured, every request except GET (or HEAD) /health needs "Authorization: Bearer KEY". Health is told by the
/// endpoint routing matched (this runs after it), so /health/ and /Health, which routing answers with it, need no key either.
/// Keys are compared as SHA-256 digests with <see cref="CryptographicOperations.FixedTimeEquals"/>,
/// against every configured key without stopping early, so timing tells neither a key nor its length.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeySet keys)
{
    public async Task InvokeAsync(HttpContext http)
    {
        if (keys.IsEmpty || (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText == ModelEndpoints.HealthRoute)
        {
            await next(http);
            return;
        }
        string header = http.Request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
            throw new ApiException(StatusCodes.Status401Unauthorized, ApiException.InvalidRequest, null, "missing_api_key",
                "You didn't provide an API key. Send it as 'Authorization: Bearer KEY'.");
        if (!keys.Matches(header[Bearer.Length..].Trim()))
            throw new ApiException(StatusCodes.Status401Unauthorized, ApiException.InvalidRequest, null, "invalid_api_key",
                "Incorrect API key provided.");
        await next(http);
    }
}

/// <summary>The configured keys, kept only as SHA-256 digests.</summary>
public sealed class ApiKeySet(IEnumerable<string> keys)
{
    readonly byte[][] _digests = keys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray();

    public bool IsEmpty => _digests.Length == 0;

    public bool Matches(string candidate)
    {
        byte[] digest = SHA256.HashData(Encoding.UTF8.GetBytes(candidate));
        bool any = false;
        foreach (var d in _digests) any |= CryptographicOperations.FixedTimeEquals(d, digest);
        return any;
    }
}
