using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Ltx2;

namespace VisualGen.Exporter.Models.Ltx2.AudioVae;

/// <summary>
/// AutoencoderKLLTX2Audio (diffusers' autoencoder_kl_ltx2_audio.py), the decoder traced as one graph: input
/// <c>latents</c> [batch, latent_channels, frames, latent_mel_bins] (de-normalized by the pipeline) → output
/// <c>mel</c> [batch, output_channels, max(4·frames − 3, 1), mel_bins], the mel spectrogram the vocoder takes.
/// </summary>
public static class AutoencoderKLLtx2Audio
{
    public const string LatentsInput = "latents", MelOutput = "mel";

    public static Graph.Graph TraceDecoder(string componentDir, ITensorSource weights) =>
        TraceDecoder(ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")), componentDir, weights);

    /// <summary>Traces from a config already read (a folder's or one mapped from a monolithic file); <paramref name="componentDir"/> names the weights' origin in errors.</summary>
    public static Graph.Graph TraceDecoder(ComponentConfig config, string componentDir, ITensorSource weights)
    {
        var c = Ltx2AudioVaeConfig.From(config);
        var tracer = new Tracer("ltx2_audio_vae_decoder");
        var w = new Weights(tracer, weights, componentDir);
        var latents = tracer.Input(LatentsInput, TensorDType.F32, "batch", c.LatentChannels.ToString(), "latent_frames", "latent_mel_bins");
        var decoder = new Ltx2AudioDecoder(w.Sub("decoder"), c);
        Tensor mel;
        using (tracer.Scope("decoder")) mel = decoder.Forward(latents);
        w.CheckAllUsed("encoder.", "latents_mean", "latents_std");
        tracer.Output(mel, MelOutput, "batch", c.OutputChannels.ToString(), "mel_frames", c.MelBins?.ToString() ?? "mel_bins");
        tracer.Graph.Metadata["visualgen.class"] = "AutoencoderKLLTX2Audio";
        tracer.Graph.Metadata["visualgen.part"] = "decoder";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
