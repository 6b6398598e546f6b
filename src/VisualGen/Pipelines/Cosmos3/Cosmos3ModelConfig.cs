using VisualGen.Checkpoints;
using VisualGen.Pipelines.Wan;

namespace VisualGen.Pipelines.Cosmos3;

/// <summary>What Cosmos3OmniPipeline reads from a checkpoint: the transformer's packing and mRoPE settings, the Wan 2.2
/// VAE's compression and latent statistics, and model_index.json's default_use_system_prompt.</summary>
public sealed record Cosmos3ModelConfig
{
    public required int LatentChannels { get; init; }
    public required int PatchSize { get; init; }
    public required bool EnableFpsModulation { get; init; }
    public required double BaseFps { get; init; }
    public required bool ResetSpatialIds { get; init; }
    public required int TemporalModalityMargin { get; init; }
    public required WanVaeConfig Vae { get; init; }
    /// <summary>The joint LLM-DiT's widths (num_attention_heads, head_dim, intermediate_size), for the admission cost.</summary>
    public required TransformerSize Transformer { get; init; }
    /// <summary>num_hidden_layers: the mixture-of-transformers layers (Cache-DiT's blocks).</summary>
    public required int NumLayers { get; init; }
    public required bool UseSystemPrompt { get; init; }
    public required bool UseNativeFlowSchedule { get; init; }

    public int VaeScaleSpatial => Vae.ScaleFactorSpatial ?? 16;
    public int VaeScaleTemporal => Vae.ScaleFactorTemporal ?? 4;

    public static Cosmos3ModelConfig Load(ModelIndex index)
    {
        var t = index.LoadConfig("transformer");
        string origin = Path.Combine(index.ComponentDirectory("transformer"), "config.json");
        if (t.GetBool("action_gen", false)) throw new CheckpointException(origin, "action_gen = true is not supported (action-conditioned generation is not implemented)");
        if (t.GetBool("sound_gen", false)) throw new CheckpointException(origin, "sound_gen = true is not supported (joint sound generation is not implemented)");
        var vae = WanVaeConfig.Read(index.ComponentDirectory("vae"));
        int channels = t.GetInt("latent_channel", 48);
        if (channels != vae.ZDim)
            throw new CheckpointException(origin, $"latent_channel {channels} differs from the VAE's z_dim {vae.ZDim}");
        int heads = t.GetInt("num_attention_heads"), headDim = t.GetInt("head_dim");
        return new Cosmos3ModelConfig
        {
            LatentChannels = channels,
            PatchSize = t.GetInt("latent_patch_size", 2),
            EnableFpsModulation = t.GetBool("enable_fps_modulation", true),
            BaseFps = t.GetDouble("base_fps", 24),
            ResetSpatialIds = t.GetBool("unified_3d_mrope_reset_spatial_ids", true),
            TemporalModalityMargin = t.GetInt("unified_3d_mrope_temporal_modality_margin", 15000),
            Vae = vae,
            Transformer = new TransformerSize(heads, heads * headDim, Math.Max(t.GetInt("intermediate_size"), 3 * heads * headDim)),
            NumLayers = t.GetInt("num_hidden_layers"),
            UseSystemPrompt = index.Fields.GetBool("default_use_system_prompt", true),
            UseNativeFlowSchedule = index.Fields.GetBool("use_native_flow_schedule", false),
        };
    }
}
