using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Models.Shared.Qwen25VL;

/// <summary>transformers' Qwen2_5_VLTextConfig: config.json's <c>text_config</c> (transformers 5), or the root of
/// older configs that keep the text fields at the top with <c>rope_theta</c> / <c>rope_scaling</c>.</summary>
public sealed record Qwen25VLTextConfig
{
    public int VocabSize { get; init; } = 152064;
    public int HiddenSize { get; init; } = 8192;
    public int IntermediateSize { get; init; } = 29568;
    public int NumHiddenLayers { get; init; } = 80;
    public int NumAttentionHeads { get; init; } = 64;
    public int NumKeyValueHeads { get; init; } = 8;
    public string HiddenAct { get; init; } = "silu";
    public float RmsNormEps { get; init; } = 1e-5f;
    public double? RopeTheta { get; init; }
    public QwenRope? RopeParameters { get; init; }
    public QwenRope? RopeScaling { get; init; }

    public int HeadDim => HiddenSize / NumAttentionHeads;

    QwenRope? Rope => RopeParameters ?? RopeScaling;

    public double Theta => Rope?.RopeTheta ?? RopeTheta ?? 1_000_000.0;

    /// <summary>Checks what the text-only graph relies on: default (unscaled) RoPE, and an mrope_section that covers
    /// the rotary half of each head (its split only matters when the three position streams differ).</summary>
    public void Validate(string origin)
    {
        string type = Rope?.RopeType ?? Rope?.Type ?? "default";
        if (type != "default")
            throw new CheckpointException(origin, $"rope type '{type}' is not supported (Qwen2.5-VL uses 'default' with mrope_section)");
        if (Rope?.MropeSection is int[] s && s.Sum() != HeadDim / 2)
            throw new CheckpointException(origin, $"mrope_section [{string.Join(", ", s)}] sums to {s.Sum()}, head_dim/2 is {HeadDim / 2}");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new CheckpointException(origin, $"num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {NumKeyValueHeads}");
    }
}

/// <summary>rope_parameters (transformers 5) / rope_scaling (older) of a Qwen2.5-VL config.</summary>
public sealed record QwenRope
{
    public double? RopeTheta { get; init; }
    public string? RopeType { get; init; }
    public string? Type { get; init; }
    public int[]? MropeSection { get; init; }
}

/// <summary>The root of a Qwen2_5_VLForConditionalGeneration config.json: the text model's config nested or not.</summary>
public sealed record Qwen25VLConfigFile
{
    public string ModelType { get; init; } = "";
    public Qwen25VLTextConfig? TextConfig { get; init; }
}
