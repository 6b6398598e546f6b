using VisualGen.Pipelines;
using VisualGen.Server.Hosting;
using VisualGen.Server.Jobs;
using VisualGen.Server.Media;
using VisualGen.Tensors;

namespace VisualGen.Server.Api;

/// <summary>
/// POST /v1/images/generations and /v1/images/edits (multipart, PNG "image" for models that take one; synchronous; they wait in the same bounded queue
/// as video jobs). OpenAI fields: model, prompt, n, size, response_format ("b64_json", the default, or
/// "url"), output_format ("png" only); extensions: negative_prompt, num_inference_steps,
/// guidance_scale, true_cfg_scale, seed (each data item reports the seed it used: seed + index). A video model answers with the single frame of a one-frame generation.
/// </summary>
public static class ImageEndpoints
{
    /// <summary>The fields /v1/images/generations takes ("user", OpenAI's end-user id, is taken and has no effect); any other is a 400 unknown_parameter.</summary>
    public static readonly IReadOnlySet<string> GenerationFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "model", "prompt", "n", "size", "response_format", "output_format", "user",
        "negative_prompt", "num_inference_steps", "guidance_scale", "true_cfg_scale", "seed",
        "teacache_thresh", "shift", "max_sequence_length",
    };

    /// <summary>Most input images an edit may upload (FLUX.2's reference images; each is decoded before the request is queued).</summary>
    public const int MaxEditImages = 10;

    /// <summary>The text fields /v1/images/edits takes: those of generations beside the "image" file part.</summary>
    public static readonly IReadOnlySet<string> EditFields = new HashSet<string>(GenerationFields.Append("image").Append("strength").Append("mask"), StringComparer.Ordinal);

    static readonly IReadOnlySet<string> NoFiles = new HashSet<string>();

    /// <summary>The file parts of /v1/images/edits: the input image(s) (also as OpenAI's "image[]") and the mask.</summary>
    static readonly IReadOnlySet<string> EditFiles = new HashSet<string>(StringComparer.Ordinal) { "image", "image[]", "mask" };

    public static void MapImages(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/images/generations", async (HttpContext http, ModelRegistry models, RequestValidator validator, WorkQueue queue,
            ImageFiles files, IMediaEncoder encoder, TimeProvider clock, PublicAddress address, ShutdownDrain drain) =>
        {
            drain.ThrowIfDraining();
            var fields = await RequestFields.ReadAsync(http.Request, http.RequestAborted);
            fields.RefuseUnknown(GenerationFields, "/v1/images/generations");
            fields.RefuseUnexpectedFiles(NoFiles, GenerationFields, "/v1/images/generations");
            var model = models.Resolve(fields.String("model"));
            // this endpoint has no image field: a model that needs one is pointed to the endpoints that take it
            if (model.Info.RequiresImage)
                throw new ApiException(StatusCodes.Status400BadRequest, ApiException.InvalidRequest, "model", "unsupported_model", model.Info.ProducesVideo
                    ? $"The model '{model.Id}' is image-to-video: it needs a first frame; use {FirstFrameEndpoints(model)}."
                    : $"The model '{model.Id}' edits an input image{(model.Info.Takes(CallArguments.MaskImage) ? " where a mask marks it" : "")}: use /v1/images/edits with an 'image'{(model.Info.Takes(CallArguments.MaskImage) ? " and a 'mask'" : "")}.");
            return await Generate(http, fields, model, validator, queue, files, encoder, clock, address);
        });

        app.MapPost("/v1/images/edits", async (HttpContext http, ModelRegistry models, RequestValidator validator, WorkQueue queue,
            ImageFiles files, IMediaEncoder encoder, TimeProvider clock, PublicAddress address, ShutdownDrain drain) =>
        {
            drain.ThrowIfDraining();
            if (!RequestFields.IsMultipart(http.Request))
                throw ApiException.BadValue("image", "/v1/images/edits takes multipart/form-data with an 'image' file and a 'prompt'.");
            var fields = await RequestFields.ReadAsync(http.Request, http.RequestAborted);
            fields.RefuseUnknown(EditFields, "/v1/images/edits");
            fields.RefuseUnexpectedFiles(EditFiles, EditFields, "/v1/images/edits");
            var model = models.Resolve(fields.String("model"));
            // in the order they arrived, "image" and "image[]" alike: FLUX.2's reference images are ordered
            var uploads = fields.Files.Where(f => f.Name is "image" or "image[]").ToList();
            if (uploads.Count == 0) throw ApiException.Missing("image");
            if (!model.Info.AcceptsImage)
                throw new ApiException(StatusCodes.Status400BadRequest, ApiException.InvalidRequest, "model", "unsupported_model",
                    $"The model '{model.Id}' does not take an input image; use /v1/images/generations.");
            // an image that only starts a video (Cosmos3) makes no one-frame edit: the pipeline would refuse it whatever
            // the request, so the model is pointed where its image goes, as /v1/images/generations points image-to-video models
            if (model.Info.ImageOnlyForVideo)
                throw new ApiException(StatusCodes.Status400BadRequest, ApiException.InvalidRequest, "model", "unsupported_model",
                    $"The model '{model.Id}' takes an input image only as the first frame of a video; use {FirstFrameEndpoints(model)}.");
            if (uploads.Count > Math.Min(model.Info.MaxImages, MaxEditImages))
                throw ApiException.BadValue("image", model.Info.MaxImages == 1
                    ? $"The model '{model.Id}' takes one input image, got {uploads.Count}."
                    : $"At most {MaxEditImages} input images per edit, got {uploads.Count}.");
            var inputs = new List<HostTensor>(uploads.Count);
            for (int i = 0; i < uploads.Count; i++)
                inputs.Add((await UploadedImage.ReadAsync(uploads[i], ImagePart(uploads, i), encoder, validator.MaxImagePixels, http.RequestAborted)).Image);
            // OpenAI's mask: transparent where the (first) image is edited; the model refuses it unless it inpaints (FLUX.1)
            var masks = fields.Files.GetFiles("mask");
            if (masks.Count > 1) throw ApiException.BadValue("mask", $"One 'mask' per edit, got {masks.Count}.");
            HostTensor? mask = masks.Count == 0 ? null
                : await UploadedMask.ReadAsync(masks[0], inputs[0].Shape[0], inputs[0].Shape[1], validator.MaxImagePixels, http.RequestAborted);
            try
            {
                return await Generate(http, fields, model, validator, queue, files, encoder, clock, address, inputs, mask);
            }
            catch (GenerationException g) when (g.Parameter == "image")
            {
                throw ImageRefused(g, uploads);
            }
        });

        app.MapMethods("/v1/images/{id}/content", ModelEndpoints.GetOrHead, (string id, ImageFiles files) =>
        {
            if (!JobId.IsValid(id, JobId.ImagePrefix) || !File.Exists(files.PathOf(id))) throw ApiException.NotFound("image", id);
            return Results.File(files.PathOf(id), "image/png", enableRangeProcessing: true);
        });

        // an id is never "generations" or "edits": DELETE there is 405 (Allow: POST), not a lookup of an image of that name
        app.Map(ExceptRouteConstraint.Id("/v1/images/{id}", "generations", "edits"), (string id, ImageFiles files) =>
        {
            if (!JobId.IsValid(id, JobId.ImagePrefix) || !files.Delete(id)) throw ApiException.NotFound("image", id);
            return Results.Json(new DeletedObject(id, "image.deleted", true));
        }).WithMetadata(new HttpMethodMetadata(["DELETE"]));
    }

    /// <summary>An input image part as messages name it: its field, or with several parts its index among them, in the
    /// order they arrived ("image[2]": the third, whether it was sent as image or image[]).</summary>
    static string ImagePart(IReadOnlyList<IFormFile> parts, int index) => parts.Count == 1 ? parts[index].Name : $"image[{index}]";

    /// <summary>The pipeline's refusal of an input image, as the client sent it: param is the part's field (image or
    /// image[]) and, when the refusal is one of several images' (<see cref="GenerationException.Index"/>), the message names
    /// that part by index ("image[2]: reference image too small: 48×32; …").</summary>
    static ApiException ImageRefused(GenerationException g, IReadOnlyList<IFormFile> parts)
    {
        if (g.Index is int i && i < parts.Count)
            return ApiException.BadValue(parts[i].Name, ClientText.WithoutPaths($"{ImagePart(parts, i)}: {(g.InnerException ?? g).Message}"));
        return ApiException.BadValue(parts[0].Name, ClientText.WithoutPaths(PipelineParameter.Text(g)));
    }

    /// <summary>Where a video model takes its first frame: /v1/images/edits' image (a one-frame video), unless the model
    /// takes an image only to start a longer video (<see cref="PipelineInfo.ImageOnlyForVideo"/>), and /v1/videos'
    /// input_reference.</summary>
    static string FirstFrameEndpoints(ServedModel model) => model.Info.ImageOnlyForVideo
        ? "/v1/videos with an 'input_reference'"
        : "/v1/images/edits with an 'image', or /v1/videos with an 'input_reference'";

    static async Task<IResult> Generate(HttpContext http, RequestFields fields, ServedModel model, RequestValidator validator,
        WorkQueue queue, ImageFiles files, IMediaEncoder encoder, TimeProvider clock, PublicAddress address, IReadOnlyList<HostTensor>? images = null,
        HostTensor? mask = null)
    {
        images ??= [];
        var spec = validator.Image(fields, model) with
        {
            SizeFromImage = images.Count > 0 && fields.String("size") is null or "auto",
            // OpenAI's masked edit regenerates the transparent region: strength 1 unless the client sets one (the
            // library keeps diffusers' 0.6, which lets the old content show through). Only for a model that takes strength:
            // one that inpaints nothing (FLUX.2, Wan) must refuse the mask the client sent, not a strength it never sent
            Strength = images.Count > 0
                ? fields.Number("strength", 0, 1, minExclusive: true) ?? (mask is not null && model.Info.Takes(CallArguments.Strength) ? 1.0 : null)
                : null,
        };
        int n = (int)(fields.Integer("n", 1, validator.MaxImagesPerRequest) ?? 1);
        // image i runs at seed + i: past the largest seed it would wrap to a negative one, which no request can send
        if (!SeedSequence.Fits(spec.Seed, n))
            throw ApiException.BadValue("seed", $"'seed' {spec.Seed} with n = {n}: image i uses seed + i, so the seed must be at most {SeedSequence.MaxFirstSeed(n)}.");
        string format = fields.String("response_format") ?? "b64_json";
        if (format is not ("b64_json" or "url"))
            throw ApiException.BadValue("response_format", $"'response_format' must be 'b64_json' or 'url', got '{format}'.");
        string output = fields.String("output_format") ?? "png";
        if (output != "png")
            throw ApiException.BadValue("output_format", $"'output_format' must be 'png' (the only format this server writes), got '{output}'.");
        _ = fields.String("user");   // OpenAI's end-user id: no effect here, but a string as OpenAI requires ("user": 5 passed)

        var request = ConditioningImages.With(spec.ToRequest(), images) with { MaskImage = mask };
        model.Pipeline.Validate(request); // refused at once, before queueing
        var work = new ImageWork(model, request, n, http.RequestAborted);
        if (!queue.TryEnqueue(work)) throw queue.IsClosed ? ShutdownDrain.ShuttingDown() : JobService.QueueFull(queue);
        IReadOnlyList<GenerationResult> results;
        try
        {
            results = await work.Result.WaitAsync(http.RequestAborted);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // a client that disconnects while its request waits frees the slot at once, not when the worker reaches it
            // (a running generation is stopped by the same token)
            queue.Remove(work);
            throw;
        }

        var data = new List<ImageData>(n);
        var stored = new List<(string Id, byte[] Png)>();
        for (int i = 0; i < results.Count; i++)
        {
            byte[] png = encoder.EncodePng(FirstImage(results[i]));
            long seed = SeedSequence.Of(spec.Seed, i);
            if (format == "b64_json") data.Add(new ImageData(Convert.ToBase64String(png), null, null, seed, StepCacheSummary.Of(results[i].StepCache)));
            else
            {
                string id = JobId.New(JobId.ImagePrefix);
                stored.Add((id, png));
                data.Add(new ImageData(null, address.UrlOf($"/v1/images/{id}/content"), null, seed, StepCacheSummary.Of(results[i].StepCache)));
            }
        }
        // all or none: a 507 must not leave the images written before the failure on disk, unlisted and unanswered
        if (stored.Count > 0) await files.SaveAllAsync(stored, http.RequestAborted);
        var first = FirstImage(results[0]).Shape;  // the size made, which an edit's "auto" leaves to the pipeline
        return Results.Json(new ImagesResponse(clock.GetUtcNow().ToUnixTimeSeconds(), data, "png", $"{first[1]}x{first[0]}"));
    }

    /// <summary>[1, h, w, 3] from an image model, or frame 0 of [1, frames, h, w, 3] from a video model.</summary>
    static HostTensor FirstImage(GenerationResult r)
    {
        var s = r.Output.Shape;
        return r.Output.Rank switch
        {
            4 => r.Output.Reshape(s[1], s[2], s[3]),
            5 when s[1] == 1 => r.Output.Reshape(s[2], s[3], s[4]),
            _ => throw new InvalidOperationException($"pipeline output {r.Output.ShapeText} is not one image"),
        };
    }
}

public sealed record ImagesResponse(long Created, IReadOnlyList<ImageData> Data, string OutputFormat, string Size);

public sealed record ImageData(
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? B64Json,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Url,
    string? RevisedPrompt,
    long Seed,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    StepCacheSummary? StepCache = null);
