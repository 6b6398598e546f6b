using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>
/// Encodes a video to the Wan latent distribution's mean chunk by chunk as diffusers does: frame 0 through the
/// first-chunk engine, then 4·<see cref="LatentFramesPerChunk"/> frames at a time through the next-chunk engine,
/// feeding back the feature cache (see <see cref="WanVaeDecoder"/>). The engines are the exporter's
/// AutoencoderKLWan encoder graphs; they stay owned by the caller.
/// </summary>
public sealed class WanVaeEncoder
{
    public const string VideoInput = "video", MeanOutput = "latent_mean", LogVarOutput = "latent_logvar";
    public const int TemporalFactor = 4;

    readonly IEngine _first;
    readonly Func<IEngine> _next;

    public WanVaeEncoder(IEngine firstChunk, IEngine nextChunk, int latentFramesPerChunk = 1)
        : this(firstChunk, () => nextChunk, latentFramesPerChunk) { }

    /// <param name="firstChunk">the first chunk's engine</param>
    /// <param name="nextChunk">the later chunks' engine, asked for once the first chunk has run (a pipeline's engines load
    /// on demand: a GPU memory budget then counts the first chunk's cache beside it; a single frame never needs it)</param>
    /// <param name="latentFramesPerChunk">latent frames per later chunk</param>
    public WanVaeEncoder(IEngine firstChunk, Func<IEngine> nextChunk, int latentFramesPerChunk = 1)
    {
        if (latentFramesPerChunk < 1) throw new ArgumentOutOfRangeException(nameof(latentFramesPerChunk), "at least one latent frame per chunk");
        (_first, _next, LatentFramesPerChunk) = (firstChunk, nextChunk, latentFramesPerChunk);
    }

    /// <summary>Latent frames per later chunk (diffusers: 1, i.e. 4 video frames).</summary>
    public int LatentFramesPerChunk { get; }

    /// <summary>Video [B, 3, 1 + 4k, H, W] in [-1, 1] → latent mean [B, z_dim, 1 + k, h, w] (not normalized).</summary>
    public HostTensor Encode(HostTensor video, CancellationToken cancellationToken = default)
    {
        VideoFrames.CheckVideo(video, nameof(video));
        long frames = video.Shape[2];
        if ((frames - 1) % TemporalFactor != 0)
            throw new ArgumentException($"video {video.ShapeText} has {frames} frames; the Wan VAE encodes 1 + 4k frames", nameof(video));
        return WanFeatureCacheState.RunChunked(_first, _next, video, VideoInput, MeanOutput, (long)TemporalFactor * LatentFramesPerChunk,
            "encoder", cancellationToken);
    }
}
