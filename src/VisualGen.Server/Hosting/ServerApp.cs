using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using VisualGen.Pipelines;
using VisualGen.Server.Api;
using VisualGen.Server.Jobs;
using VisualGen.Server.Jobs.Postgres;
using VisualGen.Server.Media;
using VisualGen.Server.Metrics;
using VisualGen.Server.Security;

namespace VisualGen.Server.Hosting;

/// <summary>
/// Builds the server around a pipeline factory (the CLI's loader, a test's pipeline), so everything
/// here runs against <see cref="IGenerationPipeline"/> alone.
/// </summary>
public static class ServerApp
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <param name="loadPipeline">Loads the model of <see cref="ServerOptions.ModelDir"/>; called once, before the server listens.</param>
    public static WebApplication Create(ServerOptions options, Func<ServerOptions, IGenerationPipeline> loadPipeline,
        Action<ILoggingBuilder>? logging = null, IMediaEncoder? encoder = null) =>
        Create(options, (o, _) => loadPipeline(o), logging, encoder);

    /// <param name="loadPipeline">Loads the model of <see cref="ServerOptions.ModelDir"/>; called once, before the server
    /// listens, with the token its engine provider holds (<see cref="EngineBuilds"/>: stopped when the shutdown drain begins).</param>
    public static WebApplication Create(ServerOptions options, Func<ServerOptions, CancellationToken, IGenerationPipeline> loadPipeline,
        Action<ILoggingBuilder>? logging = null, IMediaEncoder? encoder = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(options.ListenUrls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxUploadBytes);
        builder.Services.Configure<FormOptions>(f => f.MultipartBodyLengthLimit = options.MaxUploadBytes);
        builder.Logging.ClearProviders();
        if (logging is not null) logging(builder.Logging);
        else ServerLogging.Console(builder.Logging);
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);

        // the store first: an unreachable one stops the start before the model is loaded
        var storage = StorageHealth.For(options, TimeProvider.System);
        var shared = options.Store is { } url
            ? PostgresJobStore.Open(StoreAddress.Parse(url), new OutputFolder(options.OutputsDir!, storage), Json, new StoreSignals(), options.Lease)
            : null;
        var builds = new EngineBuilds();
        var pipeline = loadPipeline(options, builds.Token);
        var model = new ServedModel(options.ModelName ?? ModelRegistry.DefaultId(pipeline.Info), pipeline, DateTimeOffset.UtcNow);
        var s = builder.Services;
        s.AddSingleton(options);
        s.AddSingleton(Json);
        s.AddSingleton(TimeProvider.System);
        s.AddSingleton(builds);
        s.AddSingleton(_ => new ModelRegistry([model])); // created by the container, so disposed (with the pipeline) on shutdown
        s.AddSingleton(new WorkQueue(options.QueueSize));
        s.AddSingleton(storage);
        JobStore? own = null;
        if (shared is not null) AddSharedStore(s, shared);
        else
        {
            own = new JobStore(options.DataDir, Json, storage, options.OutputsDir);
            s.AddSingleton<IJobStore>(_ => own);  // from a factory: the container disposes it (the data folder's lock) on shutdown
        }
        try { s.AddSingleton(new ImageFiles(options.OutputsDir ?? options.DataDir, storage, shared: shared is not null)); }
        catch { own?.Dispose(); throw; }
        s.AddSingleton(encoder ?? new LibraryMediaEncoder());
        s.AddSingleton(new ApiKeySet(options.ApiKeys));
        s.AddSingleton<RequestValidator>();
        s.AddSingleton<PublicAddress>();
        s.AddSingleton<JobService>();
        s.AddSingleton<ServerMetrics>();
        s.AddHostedService<GenerationWorker>();
        s.AddSingleton<ShutdownDrain>();
        s.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>()); // its StoppingAsync runs before any service (Kestrel too) stops
        // the host's stop (drain, Kestrel's own close, disposal) must outlast the grace period, plus time to put the job back
        s.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(30));
        s.AddSingleton<RetentionPolicy>();
        s.AddSingleton<RetentionSweeper>();
        s.AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());

        var app = builder.Build();
        if (shared is not null)
            shared.OnUnreadableRow = (id, why) => app.Logger.LogError("skipping unreadable job {Id} in the job store: {Why}", id, why);
        if (app.Services.GetRequiredService<IMediaEncoder>().Mp4Unavailable is string noMp4)
            app.Logger.LogWarning("video requests are refused (503 mp4_unavailable): this server cannot write MP4 video ({Why}); install ffmpeg and restart it", noMp4);
        app.Services.GetRequiredService<JobService>().Restore();
        app.Services.GetRequiredService<RetentionSweeper>().Sweep(); // what expired while the server was down goes before it listens
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseMiddleware<MetricsMiddleware>();
        app.UseMiddleware<ErrorMiddleware>();
        app.UseStatusCodePages(ctx => ctx.HttpContext.Response.HasStarted ? Task.CompletedTask
            : ErrorMiddleware.Write(ctx.HttpContext, NoRoute(ctx.HttpContext), Json));
        app.UseRouting();
        app.UseMiddleware<ApiKeyMiddleware>();
        app.MapModels();
        app.MapImages();
        app.MapVideos();
        app.MapMethods("/metrics", ModelEndpoints.GetOrHead, (ServerMetrics metrics, WorkQueue queue, IJobStore store, IServiceProvider services) =>
            Results.Text(metrics.Render(queue.Depth, queue.Capacity, queue.IsBusy, store.CountByStatus(), services.GetService<ClaimTimings>()),
                "text/plain; version=0.0.4; charset=utf-8"));
        return app;
    }

    /// <summary>
    /// The PostgreSQL job store (reached and migrated before the model loads: an unreachable store stops the start), and the services that claim jobs, renew their leases and listen for the store's notifications.
    /// </summary>
    static void AddSharedStore(IServiceCollection s, PostgresJobStore store)
    {
        s.AddSingleton(store.Signals);
        s.AddSingleton(_ => store); // from a factory, so disposed (its connections closed) by the container: an instance would not be
        s.AddSingleton<IJobStore>(store); // the same object, registered as an instance so that it is disposed once
        s.AddSingleton<ClaimTimings>();
        s.AddHostedService<StoreListener>();
        s.AddHostedService<LeaseHeartbeat>();
        s.AddHostedService<JobClaimer>();
    }

    /// <summary>The first address the started server listens on (with the real port when 0 was asked).</summary>
    public static Uri BaseAddress(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());

    static ApiException NoRoute(HttpContext http) => http.Response.StatusCode switch
    {
        StatusCodes.Status404NotFound => new ApiException(404, ApiException.InvalidRequest, null, "unknown_url",
            $"Unknown request URL: {http.Request.Method} {http.Request.Path}."),
        StatusCodes.Status405MethodNotAllowed => new ApiException(405, ApiException.InvalidRequest, null, "method_not_allowed",
            $"{http.Request.Method} is not allowed on {http.Request.Path}."),
        int status => new ApiException(status, ApiException.InvalidRequest, null, "http_" + status, $"HTTP {status}."),
    };
}
