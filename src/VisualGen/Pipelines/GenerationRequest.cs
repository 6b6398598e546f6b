using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;

namespace VisualGen.Pipelines;

/// <summary>One generation call. Names follow diffusers' pipeline call arguments; null means the pipeline's default.</summary>
public sealed record GenerationRequest
{
    public required string Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public int? Height { get; init; }
    public int? Width { get; init; }
    /// <summary>Frames of a video (4k+1 for Wan); ignored by image models.</summary>
    public int? NumFrames { get; init; }
    public int? NumInferenceSteps { get; init; }
    public double? GuidanceScale { get; init; }
    /// <summary>Wan 2.2 A14B: guidance of the low-noise expert.</summary>
    public double? GuidanceScale2 { get; init; }
    /// <summary>Qwen-Image: true classifier-free guidance scale.</summary>
    public double? TrueCfgScale { get; init; }
    /// <summary>Overrides the scheduler's shift (flow_shift) when set.</summary>
    public double? Shift { get; init; }
    public long? Seed { get; init; }
    public int? MaxSequenceLength { get; init; }
    /// <summary>Frame rate of the video to generate (Cosmos3: its duration template and mRoPE time scale).</summary>
    public double? Fps { get; init; }
    /// <summary>Explicit initial latents (the pipeline's latent layout: packed for FLUX/Qwen-Image).</summary>
    public HostTensor? Latents { get; init; }
    /// <summary>Conditioning image for image-to-video or editing: [height, width, 3] float32 in [0, 1].</summary>
    public HostTensor? Image { get; init; }
    /// <summary>Step caching with TeaCache (null: off).</summary>
    public TeaCacheOptions? TeaCache { get; init; }
    /// <summary>Step caching with Cache-DiT's DBCache (null: off).</summary>
    public CacheDitOptions? CacheDit { get; init; }
}
