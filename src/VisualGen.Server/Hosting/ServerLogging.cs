namespace VisualGen.Server.Hosting;

/// <summary>
/// The server's console log format: one line per entry, with scopes (request and job ids). ASP.NET Core's own
/// per-request lines are left to warnings: the request-id middleware logs one line per request.
/// </summary>
public static class ServerLogging
{
    public static void Console(ILoggingBuilder logging) => logging
        .AddFilter("Microsoft.AspNetCore", LogLevel.Warning)
        .AddSimpleConsole(c => { c.IncludeScopes = true; c.SingleLine = true; c.TimestampFormat = "HH:mm:ss.fff "; });
}
