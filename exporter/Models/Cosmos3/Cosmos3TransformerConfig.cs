using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Models.Cosmos3;

/// <summary>Cosmos3OmniTransformer's config.json (diffusers names).</summary>
public sealed record Cosmos3TransformerConfig
{
    public bool AttentionBias { get; init; }
    public int HeadDim { get; init; } = 128;
    public int HiddenSize { get; init; } = 4096;
    public int IntermediateSize { get; init; } = 12288;
    public int BaseFps { get; init; } = 24;
    public bool EnableFpsModulation { get; init; } = true;
    public int LatentChannel { get; init; } = 48;
    public bool Unified3dMropeResetSpatialIds { get; init; } = true;
    public int Unified3dMropeTemporalModalityMargin { get; init; } = 15000;
    public int LatentPatchSize { get; init; } = 2;
    public int NumAttentionHeads { get; init; } = 32;
    public int NumHiddenLayers { get; init; } = 36;
    public int NumKeyValueHeads { get; init; } = 8;
    public int PatchLatentDim { get; init; } = 192;
    public float RmsNormEps { get; init; } = 1e-6f;
    public double RopeTheta { get; init; } = 5000000.0;
    public int[]? RopeAxesDim { get; init; }
    public bool ActionGen { get; init; }
    public bool SoundGen { get; init; }
    public float TimestepScale { get; init; } = 0.001f;
    public int VocabSize { get; init; } = 151936;
    public string HiddenAct { get; init; } = "silu";
    public bool QkNormForText { get; init; } = true;
    public bool UseUndKNormForGen { get; init; }

    /// <summary>The mRoPE section sizes (temporal, height, width) in rotary frequencies; diffusers' default [24, 20, 20].</summary>
    public int[] AxesDim => RopeAxesDim ?? [24, 20, 20];

    /// <summary>Rejects configurations this definition does not trace, naming the key.</summary>
    public void Validate(string origin)
    {
        if (ActionGen) throw new CheckpointException(origin, "action_gen = true is not supported (action-conditioned generation is not implemented)");
        if (SoundGen) throw new CheckpointException(origin, "sound_gen = true is not supported (joint sound generation is not implemented)");
        if (HiddenAct is not ("silu" or "relu2"))
            throw new CheckpointException(origin, $"hidden_act '{HiddenAct}' is not supported (Cosmos3 uses 'silu' or 'relu2')");
        if (NumKeyValueHeads <= 0 || NumAttentionHeads % NumKeyValueHeads != 0)
            throw new CheckpointException(origin, $"num_attention_heads {NumAttentionHeads} must be a multiple of num_key_value_heads {NumKeyValueHeads}");
        if (HeadDim % 2 != 0) throw new CheckpointException(origin, $"head_dim {HeadDim} must be even");
        if (PatchLatentDim != LatentPatchSize * LatentPatchSize * LatentChannel)
            throw new CheckpointException(origin, $"patch_latent_dim {PatchLatentDim} must be latent_patch_size² · latent_channel = {LatentPatchSize * LatentPatchSize * LatentChannel}");
        var a = AxesDim;
        if (a.Length != 3 || a.Any(d => d < 0))
            throw new CheckpointException(origin, $"rope_axes_dim [{string.Join(", ", a)}] must be three non-negative section sizes (temporal, height, width)");
    }
}
