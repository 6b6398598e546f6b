using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using VisualGen.Pipelines;
using VisualGen.Server.Hosting;
using VisualGen.Server.Media;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>The real server (Kestrel) on a free loopback port, over a temporary data folder, with an HttpClient.</summary>
public sealed class LiveServer : IAsyncDisposable
{
    public WebApplication App { get; }
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }
    public ServerOptions Options { get; }
    public CapturedLogs Logs { get; }

    LiveServer(WebApplication app, ServerOptions options, CapturedLogs logs)
    {
        Logs = logs;
        App = app;
        Options = options;
        BaseAddress = ServerApp.BaseAddress(app);
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        if (options.ApiKeys.Count > 0) Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKeys[0]);
    }

    public static Task<LiveServer> StartAsync(IGenerationPipeline pipeline, ServerOptions? options = null, IMediaEncoder? encoder = null) =>
        StartAsync((_, _) => pipeline, options ?? new ServerOptions { DataDir = Fixtures.TempDir("vg-server") }, encoder);

    /// <summary>The server over a loader that the server calls as its own start does: with the token of its engine builds
    /// (<see cref="EngineBuilds"/>), for the loader's engine provider.</summary>
    public static async Task<LiveServer> StartAsync(Func<ServerOptions, CancellationToken, IGenerationPipeline> load, ServerOptions options,
        IMediaEncoder? encoder = null)
    {
        options = options with { Urls = "http://127.0.0.1:0" };
        var logs = new CapturedLogs();
        var app = ServerApp.Create(options, load, l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Information), encoder);
        await app.StartAsync();
        return new LiveServer(app, options, logs);
    }

    public static Task<LiveServer> StartAsync(Func<ServerOptions, IGenerationPipeline> load, ServerOptions options) =>
        StartAsync(load(options), options);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    public static StringContent JsonBody(object body) =>
        new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    public Task<(int Status, JsonElement Body)> PostJsonAsync(string path, object body) => HttpJson.PostAsync(Http, path, body);

    public Task<(int Status, JsonElement Body)> GetJsonAsync(string path) => HttpJson.GetAsync(Http, path);

    public static Task<JsonElement> ReadJson(HttpResponseMessage r) => HttpJson.ReadAsync(r);

    /// <summary>Polls GET /v1/videos/{id} until the status is one of <paramref name="statuses"/>; returns the video object.</summary>
    public Task<JsonElement> WaitForStatusAsync(string id, TimeSpan timeout, params string[] statuses) =>
        HttpJson.WaitForStatusAsync(Http, id, timeout, statuses);

    /// <summary>Asserts an OpenAI error body: {"error": {"message", "type", "param", "code"}}.</summary>
    public static void AssertError(JsonElement body, string code, string? param = null, string type = "invalid_request_error")
    {
        var e = body.GetProperty("error");
        Assert.Equal(code, e.GetProperty("code").GetString());
        Assert.Equal(type, e.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("message").GetString()));
        if (param is not null) Assert.Equal(param, e.GetProperty("param").GetString());
    }
}

/// <summary>JSON requests to a server (in process or a child process) and the video-status poll.</summary>
public static class HttpJson
{
    public static async Task<(int Status, JsonElement Body)> PostAsync(HttpClient http, string path, object body)
    {
        using var r = await http.PostAsync(path, LiveServer.JsonBody(body));
        return ((int)r.StatusCode, await ReadAsync(r));
    }

    public static async Task<(int Status, JsonElement Body)> GetAsync(HttpClient http, string path)
    {
        using var r = await http.GetAsync(path);
        return ((int)r.StatusCode, await ReadAsync(r));
    }

    public static async Task<JsonElement> ReadAsync(HttpResponseMessage r)
    {
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.Content.Headers.ContentType?.MediaType == "application/json", $"{(int)r.StatusCode}: not JSON: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> WaitForStatusAsync(HttpClient http, string id, TimeSpan timeout, params string[] statuses)
    {
        var end = DateTime.UtcNow + timeout;
        while (true)
        {
            var (code, v) = await GetAsync(http, $"/v1/videos/{id}");
            Assert.Equal(200, code);
            if (statuses.Contains(v.GetProperty("status").GetString())) return v;
            Assert.True(DateTime.UtcNow < end, $"video {id} still {v.GetProperty("status")} after {timeout}; wanted {string.Join("/", statuses)}");
            await Task.Delay(20);
        }
    }
}

/// <summary>Log lines with their scopes, to check that request ids reach the log.</summary>
public sealed class CapturedLogs : ILoggerProvider, ISupportExternalScope
{
    readonly List<string> _lines = [];
    IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<string> Lines
    {
        get { lock (_lines) return [.. _lines]; }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;
    public void Dispose() { }

    sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel level, EventId id, TState state, Exception? e, Func<TState, Exception?, string> format)
        {
            var sb = new StringBuilder($"{level} {category}: {format(state, e)}");
            owner._scopes.ForEachScope((scope, b) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object>> kv)
                    foreach (var (k, v) in kv) b.Append($" [{k}={v}]");
            }, sb);
            lock (owner._lines) owner._lines.Add(sb.ToString());
        }
    }
}
