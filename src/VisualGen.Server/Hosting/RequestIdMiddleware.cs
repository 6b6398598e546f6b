using System.Security.Cryptography;

namespace VisualGen.Server.Hosting;

/// <summary>
/// Gives each request an id (the client's X-Request-Id when it is short and plain, else "req_" + 32 hex),
/// answers it in x-request-id and puts it in the logging scope of everything the request logs.
/// </summary>
public sealed class RequestIdMiddleware(RequestDelegate next, ILogger<RequestIdMiddleware> log)
{
    public const string Header = "x-request-id";

    public async Task InvokeAsync(HttpContext http)
    {
        string id = http.Request.Headers[Header].ToString() is { Length: > 0 and <= 64 } given && given.All(IsPlain)
            ? given : "req_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        http.TraceIdentifier = id;
        http.Response.Headers[Header] = id;
        using var scope = log.BeginScope("request {RequestId}", id);
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await next(http);
        }
        finally
        {
            log.LogInformation("{Method} {Path} -> {Status} in {Ms:F1} ms", http.Request.Method, http.Request.Path.Value,
                http.Response.StatusCode, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    static bool IsPlain(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';
}
