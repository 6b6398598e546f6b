using Microsoft.Net.Http.Headers;
using VisualGen.Server.Hosting;
using VisualGen.Server.Jobs;
using VisualGen.Server.Media;

namespace VisualGen.Server.Api;

/// <summary>
/// OpenAI's Videos API: POST /v1/videos (async job; JSON or multipart: model, prompt, seconds, size, and for models
/// that take an image the multipart file input_reference (PNG; required by image-to-video models); extensions negative_prompt, num_frames, fps, num_inference_steps, guidance_scale, true_cfg_scale, seed),
/// POST /v1/videos/generations (the same, answered when the job is finished), GET /v1/videos (after,
/// limit, order), GET /v1/videos/{id}, GET /v1/videos/{id}/content (MP4, range requests),
/// DELETE /v1/videos/{id}. Ids that are not "video_" + 32 hex digits are 404 before any lookup.
/// </summary>
public static class VideoEndpoints
{
    /// <summary>The fields POST /v1/videos and /v1/videos/generations take; any other is a 400 unknown_parameter.</summary>
    public static readonly IReadOnlySet<string> Fields = new HashSet<string>(StringComparer.Ordinal)
    {
        "model", "prompt", "seconds", "size", "input_reference",
        "negative_prompt", "num_frames", "fps", "num_inference_steps", "guidance_scale", "guidance_scale_2", "true_cfg_scale", "seed",
        "teacache_thresh", "shift", "max_sequence_length",
    };

    static readonly IReadOnlySet<string> VideoFiles = new HashSet<string>(StringComparer.Ordinal) { "input_reference" };

    public static void MapVideos(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/videos", async (HttpContext http, ModelRegistry models, RequestValidator validator, JobService jobs, IMediaEncoder encoder, RetentionPolicy retention,
            ShutdownDrain drain) =>
        {
            drain.ThrowIfDraining();
            var job = await SubmitAsync(http, models, validator, jobs, encoder);
            return Results.Json(VideoObject.From(job, retention));
        });

        app.MapPost("/v1/videos/generations", async (HttpContext http, ModelRegistry models, RequestValidator validator, JobService jobs, IMediaEncoder encoder, RetentionPolicy retention,
            ShutdownDrain drain) =>
        {
            drain.ThrowIfDraining();
            var job = await SubmitAsync(http, models, validator, jobs, encoder);
            // a shutdown lets the running job finish (this client gets it); a job still unfinished when the drain ends
            // stays queued on disk and runs at the next start: its client is told so
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, drain.Drained);
            VideoJob? done;
            try
            {
                done = await jobs.Store.WaitFinishedAsync(job.Id, wait.Token);
            }
            catch (OperationCanceledException) when (drain.Drained.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested)
            {
                // the drain ends right after the running job finishes: that may be this one
                done = jobs.Store.Get(job.Id) is { } now && JobStatus.IsFinished(now.Status) ? now
                    : throw ShutdownDrain.ShuttingDown($"video job {job.Id} is stored as queued and runs when the server is back: GET /v1/videos/{job.Id}");
            }
            if (done is null) throw ApiException.NotFound("video", job.Id);
            return Results.Json(VideoObject.From(done, retention));
        });

        app.MapMethods("/v1/videos", ModelEndpoints.GetOrHead, (HttpContext http, IJobStore store, RetentionPolicy retention) =>
        {
            var q = http.Request.Query;
            int limit = ParseLimit(q["limit"]);
            string order = q["order"].ToString() is { Length: > 0 } o ? o : "desc";
            if (order is not ("asc" or "desc")) throw ApiException.BadValue("order", $"'order' must be 'asc' or 'desc', got '{order}'.");
            string? after = q["after"].ToString() is { Length: > 0 } a ? a : null;
            var listed = after is not null && !JobId.IsValid(after, JobId.VideoPrefix) ? null : store.List(after, limit, order == "desc");
            var (page, more) = listed ?? throw ApiException.BadValue("after", $"'after' must be the id of a listed video, got '{after}'.");
            var data = page.Select(j => VideoObject.From(j, retention)).ToList();
            return Results.Json(new ListPage<VideoObject>("list", data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, more));
        });

        // an id is never "generations": that path's other methods are 405 (Allow: POST), not a lookup of a video of that name
        // (a route pattern: /metrics labels requests with its text, "/v1/videos/{id}")
        var byId = ExceptRouteConstraint.Id("/v1/videos/{id}", "generations");
        app.Map(byId, (string id, IJobStore store, RetentionPolicy retention) => Results.Json(VideoObject.From(Find(store, id), retention)))
            .WithMetadata(new HttpMethodMetadata(ModelEndpoints.GetOrHead));

        // HEAD too: download tools and proxies ask for the length and type first (the file results send no body then)
        app.MapMethods("/v1/videos/{id}/content", ModelEndpoints.GetOrHead, (string id, HttpContext http, IJobStore store) =>
        {
            var job = Find(store, id);
            string variant = http.Request.Query["variant"].ToString() is { Length: > 0 } v ? v : "video";
            if (variant != "video") throw ApiException.BadValue("variant", $"'variant' must be 'video' (thumbnails are not made), got '{variant}'.");
            // a failed job never has content: not 409 "not ready", which says to wait (and which OpenAI's clients retry)
            if (job.Status == JobStatus.Failed)
                throw new ApiException(StatusCodes.Status404NotFound, ApiException.InvalidRequest, null, "video_failed",
                    $"Video '{id}' failed{(job.Error is { } error ? $" ({error.Code})" : "")} and has no content; GET /v1/videos/{id} says why. " +
                    "Submit the request again to retry it (the video object's seed reruns the same generation).");
            if (job.Status != JobStatus.Completed)
                throw new ApiException(StatusCodes.Status409Conflict, ApiException.InvalidRequest, null, "video_not_ready",
                    $"Video '{id}' is {job.Status}; its content exists once it is completed.");
            var video = store.Outputs.OpenVideo(id) ?? throw ApiException.NotFound("video content", id);
            // validators, so If-Range (a resumed download) and If-None-Match are answered: without them ASP.NET served
            // the range whatever validator the client held. A job's video is written once, when it completes
            var etag = new EntityTagHeaderValue($"\"{id}-{job.CompletedAt}\"");
            DateTimeOffset? modified = job.CompletedAt is long t ? DateTimeOffset.FromUnixTimeSeconds(t) : null;
            return Results.Stream(video, "video/mp4", fileDownloadName: null, lastModified: modified, entityTag: etag, enableRangeProcessing: true);
        });

        app.Map(byId, (string id, JobService jobs) =>
        {
            if (!JobId.IsValid(id, JobId.VideoPrefix) || !jobs.Delete(id)) throw ApiException.NotFound("video", id);
            return Results.Json(new DeletedObject(id, "video.deleted", true));
        }).WithMetadata(new HttpMethodMetadata(["DELETE"]));
    }

    /// <summary>503 for a video request on a server that cannot write MP4s: the job would run its whole generation and
    /// then fail at the encoder.</summary>
    public static ApiException Mp4Unavailable(string why) =>
        new(StatusCodes.Status503ServiceUnavailable, "server_error", null, "mp4_unavailable",
            $"This server cannot write MP4 video ({why}), so it takes no video jobs; its operator can install ffmpeg " +
            "(Debian/Ubuntu: apt-get install ffmpeg) and restart it. Image requests are not affected.");

    static async Task<VideoJob> SubmitAsync(HttpContext http, ModelRegistry models, RequestValidator validator, JobService jobs, IMediaEncoder encoder)
    {
        var fields = await RequestFields.ReadAsync(http.Request, http.RequestAborted);
        fields.RefuseUnknown(Fields, http.Request.Path.Value ?? "/v1/videos");
        fields.RefuseUnexpectedFiles(VideoFiles, Fields, http.Request.Path.Value ?? "/v1/videos");
        var model = models.Resolve(fields.String("model"));
        var file = InputReferenceFile(fields, model);
        var spec = validator.Video(fields, model);
        if (file is null && model.Info.RequiresImage)
            throw new ApiException(StatusCodes.Status400BadRequest, ApiException.InvalidRequest, "input_reference", "missing_required_parameter",
                $"Missing required parameter: 'input_reference'. The model '{model.Id}' is image-to-video: send the first frame as a PNG file part 'input_reference' of a multipart/form-data request.");
        var upload = file is null ? null : await UploadedImage.ReadAsync(file, "input_reference", encoder, validator.MaxImagePixels, http.RequestAborted);
        model.Pipeline.Validate(spec.ToRequest() with { Image = upload?.Image }); // the pipeline's own rules, before the job takes a queue slot
        // a valid request that this server could run but never deliver: refused before its generation, not after
        if (encoder.Mp4Unavailable is string why) throw Mp4Unavailable(why);
        return jobs.Submit(model, spec, upload?.Png);
    }

    /// <summary>
    /// The input_reference file part, or null when none was sent (other file parts, and input_reference as a text
    /// field, were refused before). A model that takes no image refuses it.
    /// </summary>
    static IFormFile? InputReferenceFile(RequestFields fields, ServedModel model)
    {
        if (!model.Info.AcceptsImage && fields.Files.Count > 0)
            throw new ApiException(StatusCodes.Status400BadRequest, ApiException.InvalidRequest, "input_reference", "unsupported_parameter",
                $"The model '{model.Id}' does not take an input reference image.");
        var files = fields.Files.GetFiles("input_reference");
        if (files.Count > 1)
            throw ApiException.BadValue("input_reference", $"'input_reference' was sent {files.Count} times; send one image.");
        return files.Count == 1 ? files[0] : null;
    }

    static VideoJob Find(IJobStore store, string id) =>
        JobId.IsValid(id, JobId.VideoPrefix) && store.Get(id) is { } job ? job : throw ApiException.NotFound("video", id);

    static int ParseLimit(string? raw)
    {
        if (string.IsNullOrEmpty(raw)) return 20;
        return int.TryParse(raw, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= 100
            ? n : throw ApiException.BadValue("limit", $"'limit' must be an integer in [1, 100], got '{raw}'.");
    }
}
