using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>
/// Decodes Wan latents chunk by chunk as diffusers does: the first latent frame through the first-chunk engine,
/// then <see cref="LatentFramesPerChunk"/> latent frames at a time through the next-chunk engine, each call
/// feeding back the previous call's feature cache (outputs <c>cache_out.X</c> → inputs <c>cache.X</c>), so memory
/// stays bounded by one chunk. The engines are the exporter's AutoencoderKLWan decoder graphs (WanChunk.First and
/// WanChunk.Next); they stay owned by the caller.
/// </summary>
public sealed class WanVaeDecoder
{
    public const string LatentsInput = "latents", SampleOutput = "sample";

    /// <summary>The VAE component's decoder graphs (parts): the first chunk and the later chunks.</summary>
    public const string FirstChunkPart = "decoder_first", NextChunkPart = "decoder_next";

    /// <summary>The part of a decoder graph that leaves out the final clamp to [-1, 1] (traced on demand): tiled
    /// decoding blends its tiles before clamping, as diffusers does.</summary>
    public static string UnclampedPart(string part) => part + "_unclamped";

    readonly IEngine _first;
    readonly Func<IEngine> _next;

    public WanVaeDecoder(IEngine firstChunk, IEngine nextChunk, int latentFramesPerChunk = 1)
        : this(firstChunk, () => nextChunk, latentFramesPerChunk) { }

    /// <param name="firstChunk">the first chunk's engine</param>
    /// <param name="nextChunk">the later chunks' engine, asked for once the first chunk has run (a pipeline's engines load
    /// on demand: a GPU memory budget then counts the first chunk's cache beside it; a single frame never needs it)</param>
    /// <param name="latentFramesPerChunk">latent frames per later chunk</param>
    public WanVaeDecoder(IEngine firstChunk, Func<IEngine> nextChunk, int latentFramesPerChunk = 1)
    {
        if (latentFramesPerChunk < 1) throw new ArgumentOutOfRangeException(nameof(latentFramesPerChunk), "at least one latent frame per chunk");
        (_first, _next, LatentFramesPerChunk) = (firstChunk, nextChunk, latentFramesPerChunk);
    }

    /// <summary>Latent frames per later chunk (diffusers: 1; more frames give the same result with fewer calls).</summary>
    public int LatentFramesPerChunk { get; }

    /// <summary>AutoencoderKLWan.decode of a pipeline's de-normalized latents: chunk by chunk through the VAE component's
    /// decoder graphs (<paramref name="engine"/>: "vae.decoder_first" and so on), or with <paramref name="tiled"/> where the
    /// latent exceeds a tile, tiled_decode (Wan and Cosmos3, whose VAE is Wan's): tiles from the graphs without their clamp, as diffusers blends
    /// them before it, each tile reported as decode progress.</summary>
    public static HostTensor DecodeVideo(HostTensor vaeLatents, WanVaeConfig config, bool tiled, Func<string, IEngine> engine,
        IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        if (tiled && Vae.CausalVaeTiling.ForWan(config) is var tiling && tiling.Applies(vaeLatents))
        {
            var unclamped = new WanVaeDecoder(engine($"vae.{UnclampedPart(FirstChunkPart)}"), () => engine($"vae.{UnclampedPart(NextChunkPart)}"));
            return tiling.TiledDecode(vaeLatents, tile => unclamped.Decode(tile, ct),
                (done, all) => progress?.Report(new GenerationProgress("decode", done, all)), ct);
        }
        return new WanVaeDecoder(engine($"vae.{FirstChunkPart}"), () => engine($"vae.{NextChunkPart}")).Decode(vaeLatents, ct);
    }

    /// <summary>De-normalized latents [B, z_dim, F, h, w] → video [B, 3, 1 + 4(F − 1), H, W] in [-1, 1].</summary>
    public HostTensor Decode(HostTensor latents, CancellationToken cancellationToken = default)
    {
        VideoFrames.CheckVideo(latents, nameof(latents));
        return WanFeatureCacheState.RunChunked(_first, _next, latents, LatentsInput, SampleOutput, LatentFramesPerChunk, "decoder", cancellationToken);
    }
}
