using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Wan;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>
/// AutoencoderKLWan (diffusers' autoencoder_kl_wan.py), traced as chunk graphs that carry the feature cache as
/// ports (<see cref="WanFeatureCache"/>), so the runtime decodes one latent frame at a time as diffusers does and
/// memory stays bounded for long videos; <see cref="WanChunk.Full"/> traces the whole sequence in one graph.
/// <list type="bullet">
/// <item>Decoder graph: input <c>latents</c> [batch, z_dim, frames, height, width] (de-normalized); output
/// <c>sample</c> [batch, 3, out_frames, height·s, width·s] clamped to [-1, 1] (unpatchified for patch_size).
/// First chunk: 1 latent frame → 1 frame. Next chunk: n latent frames → 4n frames (per temporal ×2 upsample).</item>
/// <item>Encoder graph: input <c>video</c> [batch, 3, frames, height, width] in [-1, 1]; output
/// <c>latent_mean</c> [batch, z_dim, frames', height/s, width/s] (the latent distribution's mean, not normalized).
/// First chunk: 1 frame → 1 latent frame. Next chunk: 4n frames → n latent frames.</item>
/// <item>Chunked graphs also have <c>cache.*</c> inputs (Next) and <c>cache_out.*</c> outputs (First, Next).</item>
/// </list>
/// </summary>
public sealed class AutoencoderKLWan
{
    readonly WanVaeConfig _c;
    readonly Weights _w;

    public AutoencoderKLWan(Weights w, WanVaeConfig c) { _w = w; _c = c; }

    int PatchSize => _c.PatchSize ?? 1;

    /// <summary>diffusers' _decode on one chunk (or the whole sequence): post_quant_conv, decoder, unpatchify, clamp
    /// (left out for the tiles of tiled_decode, which clamps after blending them, or not at all for Qwen-Image).</summary>
    public Tensor Decode(Tensor latents, WanFeatureCache cache, bool clamp = true)
    {
        var postQuantConv = new WanCausalConv3d(_w.Sub("post_quant_conv"), _c.ZDim, _c.ZDim, 1);
        var decoder = new WanDecoder3d(_w.Sub("decoder"), _c, _c.OutChannels);
        var x = postQuantConv.Forward(latents, null);
        using (x.Tracer.Scope("decoder")) x = decoder.Forward(x, cache);
        if (PatchSize > 1) x = WanPatch.Unpatchify(x, _c.OutChannels / (PatchSize * PatchSize), PatchSize);
        if (!clamp) return x;
        return x.Max(x.Tracer.Scalar(-1f)).Min(x.Tracer.Scalar(1f));
    }

    /// <summary>diffusers' _encode on one chunk (or the whole sequence): patchify, encoder, quant_conv; the mean half.</summary>
    /// <summary>The latent distribution of <paramref name="video"/>: its mean and log-variance (unclamped), the two halves of
    /// the quant_conv output.</summary>
    public (Tensor Mean, Tensor LogVar) EncodeMoments(Tensor video, WanFeatureCache cache)
    {
        var encoder = new WanEncoder3d(_w.Sub("encoder"), _c, _c.InChannels);
        var quantConv = new WanCausalConv3d(_w.Sub("quant_conv"), _c.ZDim * 2, _c.ZDim * 2, 1);
        var x = video;
        if (PatchSize > 1) x = WanPatch.Patchify(x, _c.InChannels / (PatchSize * PatchSize), PatchSize);
        using (x.Tracer.Scope("encoder")) x = encoder.Forward(x, cache);
        x = quantConv.Forward(x, null);
        return (x.Slice(1, 0, _c.ZDim), x.Slice(1, _c.ZDim, 2 * _c.ZDim));
    }

    /// <summary>Traces the decoder of a VAE component folder for one kind of chunk; <paramref name="clamp"/> false leaves
    /// out the final clamp (the tiles of a tiled decode).</summary>
    public static Graph.Graph TraceDecoder(string componentDir, ITensorSource weights, WanChunk chunk, bool clamp = true)
    {
        var (tracer, w, c, model) = Open(componentDir, weights, $"wan_vae_decoder_{chunk.ToString().ToLowerInvariant()}{(clamp ? "" : "_unclamped")}");
        var latents = tracer.Input("latents", TensorDType.F32, "batch", c.ZDim.ToString(), "frames", "height", "width");
        var sample = model.Decode(latents, new WanFeatureCache(tracer, chunk), clamp);
        w.CheckAllUsed("encoder.", "quant_conv.");
        tracer.Output(sample, "sample", "batch", (c.OutChannels / (model.PatchSize * model.PatchSize)).ToString(), "out_frames", "out_height", "out_width");
        // the sample output goes first, the cache outputs after it
        var outputs = tracer.Graph.Outputs;
        outputs.Insert(0, outputs[^1]);
        outputs.RemoveAt(outputs.Count - 1);
        Describe(tracer.Graph, "decoder", chunk);
        return tracer.Graph;
    }

    /// <summary>Traces the encoder of a VAE component folder for one kind of chunk.</summary>
    public static Graph.Graph TraceEncoder(string componentDir, ITensorSource weights, WanChunk chunk)
    {
        var (tracer, w, c, model) = Open(componentDir, weights, $"wan_vae_encoder_{chunk.ToString().ToLowerInvariant()}");
        int p = model.PatchSize;
        var video = tracer.Input("video", TensorDType.F32, "batch", (c.InChannels / (p * p)).ToString(), "frames", "height", "width");
        var (mean, logvar) = model.EncodeMoments(video, new WanFeatureCache(tracer, chunk));
        w.CheckAllUsed("decoder.", "post_quant_conv.");
        tracer.Output(mean, "latent_mean", "batch", c.ZDim.ToString(), "latent_frames", "latent_height", "latent_width");
        // the log-variance too, for pipelines that sample the distribution (Qwen-Image image-to-image)
        tracer.Output(logvar, "latent_logvar", "batch", c.ZDim.ToString(), "latent_frames", "latent_height", "latent_width");
        // the mean and the log-variance go first, the cache outputs after them
        var outputs = tracer.Graph.Outputs;
        var moments = outputs.GetRange(outputs.Count - 2, 2);
        outputs.RemoveRange(outputs.Count - 2, 2);
        outputs.InsertRange(0, moments);
        Describe(tracer.Graph, "encoder", chunk);
        return tracer.Graph;
    }

    static (Tracer, Weights, WanVaeConfig, AutoencoderKLWan) Open(string componentDir, ITensorSource weights, string graphName)
    {
        var c = WanVaeConfig.Read(componentDir);
        if (c.PatchSize is int p && (c.InChannels % (p * p) != 0 || c.OutChannels % (p * p) != 0))
            throw new CheckpointException(Path.Combine(componentDir, "config.json"),
                $"in_channels {c.InChannels} and out_channels {c.OutChannels} must be multiples of patch_size² = {p * p}");
        var tracer = new Tracer(graphName);
        var w = new Weights(tracer, weights, componentDir);
        return (tracer, w, c, new AutoencoderKLWan(w, c));
    }

    static void Describe(Graph.Graph g, string part, WanChunk chunk)
    {
        g.Metadata["visualgen.class"] = "AutoencoderKLWan";
        g.Metadata["visualgen.part"] = part;
        g.Metadata["visualgen.chunk"] = chunk.ToString().ToLowerInvariant();
        g.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
    }
}
