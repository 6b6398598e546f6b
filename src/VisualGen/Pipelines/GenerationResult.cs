using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;

namespace VisualGen.Pipelines;

/// <summary>
/// What a pipeline returns: the final latents (what diffusers returns for output_type="latent": the normalized latent
/// space, except LTX-2, which de-normalizes them) and the decoded output as float32 in [0, 1] in diffusers' "np" layout:
/// [batch, frames, height, width, 3] for video, [batch, height, width, 3] for images. <see cref="FramesPerSecond"/> is the
/// rate the video plays at, which need not be whole (LTX-2's frame_rate and Cosmos3's fps, 12.5 or 29.97, are the
/// rate the model made the video and its soundtrack for).
/// </summary>
public sealed record GenerationResult(HostTensor Latents, HostTensor Output, bool IsVideo, double FramesPerSecond)
{
    /// <summary>What the request's step cache did (steps computed and skipped); null without a step cache.</summary>
    public StepCacheReport? StepCache { get; init; }

    /// <summary>Audio families (LTX-2): the final audio latents (what diffusers returns for output_type="latent").</summary>
    public HostTensor? AudioLatents { get; init; }

    /// <summary>Audio families: the waveform [batch, channels, samples] in [-1, 1] at <see cref="AudioSampleRate"/>.</summary>
    public HostTensor? Audio { get; init; }

    public int AudioSampleRate { get; init; }
}
