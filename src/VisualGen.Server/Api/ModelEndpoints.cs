using VisualGen.Server.Hosting;
using VisualGen.Server.Jobs;

namespace VisualGen.Server.Api;

/// <summary>GET /v1/models (OpenAI's list of model objects, with what each makes) and GET /health.</summary>
public static class ModelEndpoints
{
    /// <summary>/health's route: the one the API key middleware lets through without a key.</summary>
    public const string HealthRoute = "/health";

    /// <summary>The methods of every read route: HTTP's HEAD (RFC 9110: a server supports it wherever GET is; load balancers'
    /// health checks and download tools send it) answers GET's status and headers, Kestrel dropping the body.</summary>
    public static readonly string[] GetOrHead = ["GET", "HEAD"];

    public static void MapModels(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/v1/models", GetOrHead, (ModelRegistry models) =>
        {
            var data = models.All.Select(ModelObject.From).ToList();
            return Results.Json(new ListPage<ModelObject>("list", data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, false));
        });

        app.MapMethods("/v1/models/{id}", GetOrHead, (string id, ModelRegistry models) =>
            Results.Json(ModelObject.From(models.Find(id) ?? throw new ApiException(StatusCodes.Status404NotFound, ApiException.InvalidRequest,
                "model", "model_not_found", $"The model '{id}' does not exist."))));

        // 503 "degraded" while the data folder takes no writes: video jobs and URL images would fail
        // 503 "draining" from SIGTERM until the process stops: a load balancer sends new work elsewhere
        // with a shared store: queue_depth counts the deployment's queued jobs (the bound applies to them), and a store
        // that cannot be reached is "degraded" (named without its address: /health needs no key)
        app.MapMethods(HealthRoute, GetOrHead, (WorkQueue queue, ModelRegistry models, StorageHealth storage, ShutdownDrain drain, IJobStore store, Media.IMediaEncoder encoder) =>
        {
            string? problem = storage.Problem();
            int depth = queue.Depth;
            if (store.IsShared)
            {
                try { depth = store.CountByStatus()[JobStatus.Queued]; }
                catch (Jobs.Postgres.StoreUnavailableException) { problem ??= "the job store (PostgreSQL) is unreachable"; }
            }
            string status = drain.IsDraining ? "draining" : problem is null ? "ok" : "degraded";
            return Results.Json(new Health(status, models.All.Select(m => m.Id).ToList(), depth, queue.Capacity,
                queue.IsBusy, problem is null ? "ok" : problem, encoder.Mp4Unavailable is string noMp4 ? $"unavailable: {noMp4}" : "ok"), statusCode: status == "ok" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
    }
}

public sealed record ModelObject(string Id, string Object, long Created, string OwnedBy, string Family, string ClassName, bool ProducesVideo,
    bool AcceptsImage, bool RequiresImage, int MaxImages, string DefaultSize, int DefaultNumFrames, int DefaultNumInferenceSteps, int SizeMultiple,
    int FramesPerSecond, IReadOnlyList<string> Arguments, EngineSettings? Engine)
{
    /// <summary>max_images: how many input images one request may give (0 none; edits are further capped at
    /// <see cref="ImageEndpoints.MaxEditImages"/>). arguments: the request fields only some models take that this one
    /// takes (a model refuses the others by name with a 400). engine: how the server runs the model
    /// (<see cref="EngineSettings"/>).</summary>
    public static ModelObject From(ServedModel m) => new(m.Id, "model", m.LoadedAt.ToUnixTimeSeconds(), "visualgen", m.Info.Family,
        m.Info.ClassName, m.Info.ProducesVideo, m.Info.AcceptsImage, m.Info.RequiresImage,
        m.Info.AcceptsImage ? Math.Min(m.Info.MaxImages, ImageEndpoints.MaxEditImages) : 0,
        $"{m.Info.DefaultWidth}x{m.Info.DefaultHeight}", m.Info.DefaultNumFrames, m.Info.DefaultSteps, m.Info.SizeMultiple, m.Info.FramesPerSecond,
        [.. m.Info.Arguments.SelectMany(a => Fields(a, m.Info.ProducesVideo))], m.Engine);

    /// <summary>The server's field for a call argument (<see cref="PipelineParameter.Field"/>: a video model's image is
    /// /v1/videos' input_reference, an image model's the edits' image, mask_image the edits' mask); arguments the server
    /// has no field for are left out.</summary>
    static IEnumerable<string> Fields(VisualGen.Pipelines.CallArgument a, bool video) =>
        PipelineParameter.Field(a.Name, video) is var field && (ImageEndpoints.EditFields.Contains(field) || VideoEndpoints.Fields.Contains(field))
            ? [field] : [];
}

/// <summary>/health's answer; <see cref="Storage"/> is "ok" or why the data folder takes no writes; <see cref="Video"/>
/// is "ok" or why video requests are refused (no ffmpeg to write MP4s: image requests still run, so the status stays).</summary>
public sealed record Health(string Status, IReadOnlyList<string> Models, int QueueDepth, int QueueCapacity, bool Busy, string Storage, string Video);
