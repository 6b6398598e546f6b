using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using VisualGen.Pipelines;
using VisualGen.Server.Hosting;

namespace VisualGen.Server.Api;

/// <summary>Turns request fields into a <see cref="GenerationSpec"/> for one model, within the server's limits.</summary>
public sealed partial class RequestValidator(ServerOptions limits)
{
    [GeneratedRegex(@"^([0-9]+)x([0-9]+)\z")] // \z: $ also matches before a final newline ("64x64\n" passed)
    private static partial Regex SizePattern();

    /// <summary>For /v1/videos and /v1/videos/generations.</summary>
    public int MaxImagesPerRequest => limits.MaxImagesPerRequest;
    public long MaxImagePixels => limits.MaxImagePixels;

    public GenerationSpec Video(RequestFields f, ServedModel model)
    {
        var info = model.Info;
        if (!info.ProducesVideo)
            throw new ApiException(StatusCodes.Status400BadRequest, ApiException.InvalidRequest, "model", "unsupported_model",
                $"The model '{model.Id}' produces images; use /v1/images/generations.");
        int fps = (int)(f.Integer("fps", 1, 120) ?? info.FramesPerSecond);
        int frames = Frames(f, info, fps);
        return Common(f, info, frames, fps) with { ModelFps = f.Has("fps") && info.Takes(CallArguments.Fps) ? fps : null };
    }

    /// <summary>
    /// For /v1/images/*: an image model makes an image; a video model makes a one-frame video whose
    /// frame is the image (Wan accepts num_frames = 1).
    /// </summary>
    public GenerationSpec Image(RequestFields f, ServedModel model) =>
        Common(f, model.Info, frames: 1, fps: model.Info.FramesPerSecond);

    GenerationSpec Common(RequestFields f, PipelineInfo info, int frames, int fps)
    {
        string prompt = f.String("prompt") ?? throw ApiException.Missing("prompt");
        if (string.IsNullOrWhiteSpace(prompt)) throw ApiException.BadValue("prompt", "'prompt' must not be empty.");
        if (prompt.Length > limits.MaxPromptChars)
            throw ApiException.BadValue("prompt", $"'prompt' is {prompt.Length} characters; the limit is {limits.MaxPromptChars}.");
        string? negative = f.String("negative_prompt");
        if (negative is not null && negative.Length > limits.MaxPromptChars)
            throw ApiException.BadValue("negative_prompt", $"'negative_prompt' is {negative.Length} characters; the limit is {limits.MaxPromptChars}.");
        var (width, height) = Size(f.String("size"), info);
        return new GenerationSpec
        {
            Prompt = prompt,
            NegativePrompt = negative,
            Width = width,
            Height = height,
            NumFrames = frames,
            NumInferenceSteps = (int)(f.Integer("num_inference_steps", 1, limits.MaxSteps) ?? info.DefaultSteps),
            // only what the client sent: a default here would reach pipelines that refuse the field (Qwen-Image refuses guidance_scale)
            GuidanceScale = f.Number("guidance_scale", 0, 100),
            GuidanceScale2 = f.Number("guidance_scale_2", 0, 100),
            TrueCfgScale = f.Number("true_cfg_scale", 0, 100),
            TeacacheThresh = f.Number("teacache_thresh", 0, 1e9),
            Shift = f.Number("shift", 0, 1000, minExclusive: true),
            MaxSequenceLength = (int?)f.Integer("max_sequence_length", 1, 4096),
            Seed = f.Integer("seed", 0, long.MaxValue) ?? RandomNumberGenerator.GetInt32(int.MaxValue),
            Fps = fps,
        };
    }

    (int Width, int Height) Size(string? size, PipelineInfo info)
    {
        if (size is null or "auto") return (info.DefaultWidth, info.DefaultHeight);
        var m = SizePattern().Match(size);
        if (!m.Success)
            throw ApiException.BadValue("size", $"'size' must be \"WIDTHxHEIGHT\" (for example \"{info.DefaultWidth}x{info.DefaultHeight}\") or \"auto\", got '{size}'.");
        int mult = info.SizeMultiple;
        int Side(string name, string digits)
        {
            // any run of digits is a side: one past int's range is out of range as one past the limit is
            if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < mult || v > limits.MaxSide)
                throw ApiException.BadValue("size", $"'size' {size}: {name} {digits} must be in [{mult}, {limits.MaxSide}].");
            if (v % mult != 0)
                throw ApiException.BadValue("size", $"'size' {size}: {name} {v} must be a multiple of {mult}.");
            return v;
        }
        return (Side("width", m.Groups[1].Value), Side("height", m.Groups[2].Value));
    }

    /// <summary>num_frames wins over seconds; seconds × fps is rounded to the nearest valid count (k × multiple + 1).</summary>
    int Frames(RequestFields f, PipelineInfo info, int fps)
    {
        int mult = Math.Max(1, info.FrameMultiple);
        var n = f.Integer("num_frames", 1, limits.MaxFrames);
        if (n is long frames)
        {
            if ((frames - 1) % mult != 0)
                throw ApiException.BadValue("num_frames", $"'num_frames' {frames}: num_frames - 1 must be a multiple of {mult} (for example {(frames - 1) / mult * mult + 1} or {((frames - 1) / mult + 1) * mult + 1}).");
            return (int)frames;
        }
        var seconds = f.Number("seconds", 0, 3600, minExclusive: true);
        if (seconds is double s)
        {
            long count = (long)Math.Round(s * fps / mult) * mult + 1;
            if (count > limits.MaxFrames)
                throw ApiException.BadValue("seconds", $"'seconds' {s.ToString(CultureInfo.InvariantCulture)} at {fps} fps is {count} frames; the limit is {limits.MaxFrames}.");
            return (int)count;
        }
        return info.DefaultNumFrames;
    }
}
