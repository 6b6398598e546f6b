using System.Globalization;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Server.Api;

/// <summary>
/// A validated generation: every default resolved, the seed drawn when the client gave none, so a
/// job stored on disk reruns to the same output. Field names in JSON are the request's snake_case ones.
/// </summary>
public sealed record GenerationSpec
{
    public required string Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required int NumFrames { get; init; }
    public required int NumInferenceSteps { get; init; }
    public double? GuidanceScale { get; init; }
    /// <summary>Wan 2.2 A14B: the low-noise expert's guidance; null when the client sent none.</summary>
    public double? GuidanceScale2 { get; init; }
    /// <summary>Qwen-Image and FLUX: true classifier-free guidance with the negative prompt; null when the client sent none.</summary>
    public double? TrueCfgScale { get; init; }
    /// <summary>The scheduler's shift (Wan's flow_shift: diffusers suggests 3.0 for 480p and 5.0 for 720p); null: the checkpoint's.
    /// Schedulers that shift by the image size refuse it.</summary>
    public double? Shift { get; init; }
    /// <summary>The text encoder's token limit; null: the model's default.</summary>
    public int? MaxSequenceLength { get; init; }
    /// <summary>TeaCache's threshold with the model's shipped coefficients; null: no step cache.</summary>
    public double? TeacacheThresh { get; init; }
    public required long Seed { get; init; }
    /// <summary>The MP4's frame rate (and seconds' unit).</summary>
    public required int Fps { get; init; }
    /// <summary>The frame rate the model itself is conditioned on (Cosmos3's fps, LTX-2's frame_rate: the positions, the
    /// duration template, the soundtrack's length): the client's fps for a model that takes one, so the MP4 plays at the
    /// rate the model made; null for other models and when the client sent none (the model's default, <see cref="Fps"/>).</summary>
    public double? ModelFps { get; init; }
    /// <summary>An edit whose 'size' was absent or "auto": the pipeline sizes the output by its rule for the input image
    /// (FLUX.2: the image's own size, cropped to multiples of 16), or by its default (Width, Height here).</summary>
    public bool SizeFromImage { get; init; }
    /// <summary>An edit's strength (FLUX.1 and Qwen-Image image-to-image); null when the client sent none.</summary>
    public double? Strength { get; init; }

    public string Size => $"{Width}x{Height}";

    /// <summary>Duration as OpenAI's "seconds" string (frames / fps, invariant culture).</summary>
    public string Seconds => (NumFrames / (double)Fps).ToString("0.####", CultureInfo.InvariantCulture);

    public GenerationRequest ToRequest() => new()
    {
        Prompt = Prompt,
        NegativePrompt = NegativePrompt,
        Width = SizeFromImage ? null : Width,
        Height = SizeFromImage ? null : Height,
        NumFrames = NumFrames,
        NumInferenceSteps = NumInferenceSteps,
        GuidanceScale = GuidanceScale,
        GuidanceScale2 = GuidanceScale2,
        TrueCfgScale = TrueCfgScale,
        Fps = ModelFps,
        Shift = Shift,
        MaxSequenceLength = MaxSequenceLength,
        Seed = Seed,
        Strength = Strength,
        TeaCache = TeacacheThresh is double thresh ? new TeaCacheOptions(thresh) : null,
    };
}
