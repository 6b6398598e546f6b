using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Flux;
using VisualGen.Pipelines.Vae;

namespace VisualGen.Exporter.Models.Shared.Vae;

/// <summary>
/// AutoencoderKL (diffusers' autoencoder_kl.py; FLUX.1, SD3, SDXL), traced as two graphs:
/// <list type="bullet">
/// <item>decoder: input <c>latents</c> [batch, latent_channels, h, w] (raw: the pipeline has already applied
/// /scaling_factor + shift_factor) → post_quant_conv (when use_post_quant_conv) → Decoder → output <c>sample</c>
/// [batch, out_channels, h·s, w·s], not clamped (s = 2^(blocks − 1)).</item>
/// <item>encoder: input <c>image</c> [batch, in_channels, H, W] in [-1, 1] → Encoder → quant_conv (when use_quant_conv)
/// → outputs <c>latent_mean</c> [batch, latent_channels, H/s, W/s]: the latent distribution's mean, before shift/scale, and
/// <c>latent_logvar</c>, its log-variance (unclamped), for pipelines that sample the distribution (FLUX.1 img2img).</item>
/// </list>
/// Variants with the same encoder/decoder (FLUX.2's AutoencoderKLFlux2) trace through here under their own class name,
/// naming the extra weights they keep for the pipeline (<c>ignoredWeights</c>).
/// </summary>
public static class AutoencoderKL
{
    public const string LatentsInput = "latents", SampleOutput = "sample";
    public const string ImageInput = AutoencoderKLEncoder.ImageInput, MeanOutput = AutoencoderKLEncoder.MeanOutput,
        LogVarOutput = AutoencoderKLEncoder.LogVarOutput;

    public static Graph.Graph TraceDecoder(string componentDir, ITensorSource weights, string className = "AutoencoderKL", params string[] ignoredWeights)
    {
        var (tracer, w, c, origin) = Open(componentDir, weights, "autoencoder_kl_decoder");
        var latents = tracer.Input(LatentsInput, TensorDType.F32, "batch", c.LatentChannels.ToString(), "latent_height", "latent_width");
        var z = latents;
        if (c.UsePostQuantConv) z = new Conv2d(w.Sub("post_quant_conv"), c.LatentChannels, c.LatentChannels, 1).Forward(z);
        var decoder = new VaeDecoder(w.Sub("decoder"), c, origin);
        Tensor sample;
        using (tracer.Scope("decoder")) sample = decoder.Forward(z);
        w.CheckAllUsed(["encoder.", "quant_conv.", .. ignoredWeights]);
        tracer.Output(sample, SampleOutput, "batch", c.OutChannels.ToString(), "height", "width");
        Describe(tracer.Graph, className, "decoder");
        return tracer.Graph;
    }

    public static Graph.Graph TraceEncoder(string componentDir, ITensorSource weights, string className = "AutoencoderKL", params string[] ignoredWeights)
    {
        var (tracer, w, c, origin) = Open(componentDir, weights, "autoencoder_kl_encoder");
        var image = tracer.Input(ImageInput, TensorDType.F32, "batch", c.InChannels.ToString(), "height", "width");
        var encoder = new VaeEncoder(w.Sub("encoder"), c, origin);
        Tensor moments;
        using (tracer.Scope("encoder")) moments = encoder.Forward(image);
        if (c.UseQuantConv) moments = new Conv2d(w.Sub("quant_conv"), 2 * c.LatentChannels, 2 * c.LatentChannels, 1).Forward(moments);
        // ignore "decoder." and "post_quant_conv." but not "quant_conv." itself: CheckAllUsed matches by substring
        w.CheckAllUsed(["decoder.", "post_quant_conv.", .. ignoredWeights]);
        tracer.Output(moments.Slice(1, 0, c.LatentChannels), MeanOutput, "batch", c.LatentChannels.ToString(), "latent_height", "latent_width");
        // the distribution's log-variance as the moments hold it (diffusers clamps it to [−30, 20] when sampling)
        tracer.Output(moments.Slice(1, c.LatentChannels, 2 * c.LatentChannels), LogVarOutput, "batch", c.LatentChannels.ToString(), "latent_height", "latent_width");
        Describe(tracer.Graph, className, "encoder");
        return tracer.Graph;
    }

    static (Tracer, Weights, AutoencoderKLConfig, string) Open(string componentDir, ITensorSource weights, string graphName)
    {
        string origin = Path.Combine(componentDir, "config.json");
        var c = AutoencoderKLConfig.Read(componentDir);
        var tracer = new Tracer(graphName);
        return (tracer, new Weights(tracer, weights, componentDir), c, origin);
    }

    static void Describe(Graph.Graph g, string className, string part)
    {
        g.Metadata["visualgen.class"] = className;
        g.Metadata["visualgen.part"] = part;
        g.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
    }
}
