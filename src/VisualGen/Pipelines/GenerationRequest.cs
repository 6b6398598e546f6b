using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;

namespace VisualGen.Pipelines;

/// <summary>One generation call. Names follow diffusers' pipeline call arguments; null means the pipeline's default. An
/// argument a pipeline does not take (<see cref="PipelineInfo.Arguments"/>) is refused by name, never ignored.</summary>
public sealed record GenerationRequest
{
    public required string Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public int? Height { get; init; }
    public int? Width { get; init; }
    /// <summary>Frames of a video (4k+1 for Wan); an image model takes 1 or none and refuses more.</summary>
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
    /// <summary>Frame rate of the video to generate (Cosmos3's fps: its duration template and mRoPE time scale; LTX-2's
    /// frame_rate: the audio length and the RoPE time axis).</summary>
    public double? Fps { get; init; }
    /// <summary>LTX-2: spatio-temporal guidance scale (stg_scale; 0 turns STG off).</summary>
    public double? StgScale { get; init; }
    /// <summary>LTX-2: modality-isolation guidance scale (modality_scale; 1 turns it off).</summary>
    public double? ModalityScale { get; init; }
    /// <summary>LTX-2: guidance rescale factor (guidance_rescale; 0 turns it off).</summary>
    public double? GuidanceRescale { get; init; }
    /// <summary>LTX-2: the audio stream's guidance_scale, stg_scale, modality_scale and guidance_rescale.</summary>
    public double? AudioGuidanceScale { get; init; }
    public double? AudioStgScale { get; init; }
    public double? AudioModalityScale { get; init; }
    public double? AudioGuidanceRescale { get; init; }
    /// <summary>LTX-2: transformer blocks perturbed by spatio-temporal guidance (spatio_temporal_guidance_blocks).</summary>
    public IReadOnlyList<int>? SpatioTemporalGuidanceBlocks { get; init; }
    /// <summary>LTX-2: cross-modal attention modulated by the other modality's sigma (use_cross_timestep).</summary>
    public bool? UseCrossTimestep { get; init; }
    /// <summary>LTX-2: explicit initial audio latents [batch, channels, length, mel_bins] (audio_latents).</summary>
    public HostTensor? AudioLatents { get; init; }
    /// <summary>FLUX.1 Kontext: the area (pixels) the output size is fitted to at its aspect ratio (diffusers' max_area, default 1024²).</summary>
    public long? MaxArea { get; init; }
    /// <summary>FLUX.1 and Qwen-Image image-to-image: how much of the image is noised and regenerated, (0, 1] (diffusers' strength, default 0.6).</summary>
    public double? Strength { get; init; }
    /// <summary>FLUX.1 and Qwen-Image inpainting (diffusers' FluxInpaintPipeline, QwenImageInpaintPipeline; with <see cref="Image"/>): where the image is repainted
    /// (white) and kept (black), [height, width, 3] float32 in [0, 1] like <see cref="Image"/>, at any size.</summary>
    public HostTensor? MaskImage { get; init; }
    /// <summary>Explicit initial latents (the pipeline's latent layout: packed for FLUX/Qwen-Image).</summary>
    public HostTensor? Latents { get; init; }
    /// <summary>Conditioning image for image-to-video or editing: [height, width, 3] float32 in [0, 1].</summary>
    public HostTensor? Image { get; init; }
    /// <summary>Several conditioning images, in order, for a pipeline that takes more than one (<see cref="PipelineInfo.MaxImages"/>:
    /// FLUX.2's reference images); each as <see cref="Image"/>. Not given together with <see cref="Image"/>.</summary>
    public IReadOnlyList<HostTensor>? Images { get; init; }
    /// <summary>Wan image-to-video: the last frame beside <see cref="Image"/>, the first (diffusers' last_image; first-last-frame
    /// generation); as <see cref="Image"/>.</summary>
    public HostTensor? LastImage { get; init; }
    /// <summary>Step caching with TeaCache (null: off).</summary>
    public TeaCacheOptions? TeaCache { get; init; }
    /// <summary>Step caching with Cache-DiT's DBCache (null: off).</summary>
    public CacheDitOptions? CacheDit { get; init; }
    /// <summary>Tiled VAE decoding, as diffusers' <c>vae.enable_tiling()</c> (every family): latents larger
    /// than one tile are decoded in overlapping tiles that are blended together (null or false: one decoder call).</summary>
    public bool? VaeTiling { get; init; }
}
