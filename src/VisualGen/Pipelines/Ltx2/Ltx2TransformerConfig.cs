using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Ltx2;

/// <summary>LTX2VideoTransformer3DModel's config.json (diffusers names and defaults).</summary>
public sealed record Ltx2TransformerConfig
{
    public int InChannels { get; init; } = 128;
    public int? OutChannels { get; init; } = 128;
    public int PatchSize { get; init; } = 1;
    public int PatchSizeT { get; init; } = 1;
    public int NumAttentionHeads { get; init; } = 32;
    public int AttentionHeadDim { get; init; } = 128;
    public int CrossAttentionDim { get; init; } = 4096;
    public int[] VaeScaleFactors { get; init; } = [8, 32, 32];
    public int PosEmbedMaxPos { get; init; } = 20;
    public int BaseHeight { get; init; } = 2048;
    public int BaseWidth { get; init; } = 2048;
    public bool GatedAttn { get; init; }
    public bool CrossAttnMod { get; init; }
    public int AudioInChannels { get; init; } = 128;
    public int? AudioOutChannels { get; init; } = 128;
    public int AudioNumAttentionHeads { get; init; } = 32;
    public int AudioAttentionHeadDim { get; init; } = 64;
    public int AudioCrossAttentionDim { get; init; } = 2048;
    public int AudioPosEmbedMaxPos { get; init; } = 20;
    public bool AudioGatedAttn { get; init; }
    public bool AudioCrossAttnMod { get; init; }
    public int NumLayers { get; init; } = 48;
    public bool NormElementwiseAffine { get; init; }
    public double NormEps { get; init; } = 1e-6;
    public int CaptionChannels { get; init; } = 3840;
    public bool AttentionBias { get; init; } = true;
    public bool AttentionOutBias { get; init; } = true;
    public double RopeTheta { get; init; } = 10000.0;
    public bool RopeDoublePrecision { get; init; } = true;
    public double TimestepScaleMultiplier { get; init; } = 1000;
    public double CrossAttnTimestepScaleMultiplier { get; init; } = 1000;
    public bool UsePromptEmbeddings { get; init; } = true;
    public bool FfBias { get; init; } = true;
    public bool AudioFfBias { get; init; } = true;
    public bool UsePromptAdalnSingle { get; init; } = true;
    public bool PerturbedAttn { get; init; }
    /// <summary>RoPE coordinates (the pipeline prepares them): frames shifted by causal_offset − the first scale factor.</summary>
    public int CausalOffset { get; init; } = 1;
    public int AudioPatchSize { get; init; } = 1;
    public int AudioPatchSizeT { get; init; } = 1;
    public int AudioScaleFactor { get; init; } = 4;
    public int AudioHopLength { get; init; } = 160;
    public int AudioSamplingRate { get; init; } = 16000;

    /// <summary>Reads and checks <c>config.json</c> of a transformer component folder. Only what the exported
    /// forward implements is accepted: split RoPE, RMSNorm across heads, GELU-tanh, no keyframe embedding (patching is
    /// the pipeline's: the RoPE coordinates are inputs).</summary>
    public static Ltx2TransformerConfig Read(string componentDir) => From(ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")));

    /// <summary>Checks a config already read: a folder's config.json or one mapped from a monolithic file's metadata.</summary>
    public static Ltx2TransformerConfig From(ComponentConfig config)
    {
        var c = config.ToRecord<Ltx2TransformerConfig>();
        config.RequireOneOf("rope_type", "interleaved", "split");
        config.RequireOneOf("qk_norm", "rms_norm_across_heads", "rms_norm_across_heads");
        config.RequireOneOf("activation_fn", "gelu-approximate", "gelu-approximate");
        config.RejectTrue("use_keyframes_abs_pos_embedding");
        if (c.NormElementwiseAffine) throw config.Unsupported("norm_elementwise_affine", "the block norms carry no weights in LTX-2");
        if (c.VaeScaleFactors.Length != 3) throw config.Unsupported("vae_scale_factors", "three factors (frames, height, width) expected");
        foreach (var (key, v) in new[] { ("patch_size", c.PatchSize), ("patch_size_t", c.PatchSizeT), ("audio_patch_size", c.AudioPatchSize), ("audio_patch_size_t", c.AudioPatchSizeT) })
            if (v < 1) throw config.Unsupported(key, "expected at least 1");
        if (c.VaeScaleFactors.Any(f => f < 1)) throw config.Unsupported("vae_scale_factors", "factors of at least 1 expected");
        return c;
    }
}
