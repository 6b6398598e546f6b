using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Ltx2;

namespace VisualGen.Exporter.Models.Ltx2.Vae;

/// <summary>
/// AutoencoderKLLTX2Video (diffusers' autoencoder_kl_ltx2.py), the decoder traced as one graph (no tiling):
/// input <c>latents</c> [batch, latent_channels, frames, h, w] (de-normalized by the pipeline) → output
/// <c>sample</c> [batch, out_channels, (frames − 1)·t + 1, h·s, w·s], not clamped. Causality is the config's
/// decoder_causal, as diffusers' decode(causal=None) uses it.
/// </summary>
public static class AutoencoderKLLtx2Video
{
    public const string LatentsInput = "latents", SampleOutput = "sample";

    public static Graph.Graph TraceDecoder(string componentDir, ITensorSource weights) =>
        TraceDecoder(ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")), componentDir, weights);

    /// <summary>Traces from a config already read (a folder's or one mapped from a monolithic file); <paramref name="componentDir"/> names the weights' origin in errors.</summary>
    public static Graph.Graph TraceDecoder(ComponentConfig config, string componentDir, ITensorSource weights)
    {
        var c = Ltx2VideoVaeConfig.From(config);
        var tracer = new Tracer("ltx2_video_vae_decoder");
        var w = new Weights(tracer, weights, componentDir);
        var latents = tracer.Input(LatentsInput, TensorDType.F32, "batch", c.LatentChannels.ToString(), "latent_frames", "latent_height", "latent_width");
        var decoder = new Ltx2VideoDecoder3d(w.Sub("decoder"), c);
        Tensor sample;
        using (tracer.Scope("decoder")) sample = decoder.Forward(latents, c.DecoderCausal);
        w.CheckAllUsed("encoder.", "latents_mean", "latents_std");
        tracer.Output(sample, SampleOutput, "batch", c.OutChannels.ToString(), "frames", "height", "width");
        tracer.Graph.Metadata["visualgen.class"] = "AutoencoderKLLTX2Video";
        tracer.Graph.Metadata["visualgen.part"] = "decoder";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
