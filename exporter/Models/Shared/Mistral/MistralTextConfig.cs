using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Models.Shared.Mistral;

/// <summary>transformers' MistralConfig: the <c>text_config</c> of a Mistral3ForConditionalGeneration config.json
/// (FLUX.2's text encoder), or the root of a plain MistralModel config.</summary>
public sealed record MistralTextConfig
{
    public int VocabSize { get; init; } = 32000;
    public int HiddenSize { get; init; } = 4096;
    public int IntermediateSize { get; init; } = 14336;
    public int NumHiddenLayers { get; init; } = 32;
    public int NumAttentionHeads { get; init; } = 32;
    public int NumKeyValueHeads { get; init; } = 8;
    public int? HeadDim { get; init; }
    public string HiddenAct { get; init; } = "silu";
    public float RmsNormEps { get; init; } = 1e-6f;
    public double? RopeTheta { get; init; }
    public MistralRope? RopeParameters { get; init; }
    public MistralRope? RopeScaling { get; init; }
    public int? SlidingWindow { get; init; }

    /// <summary>head_dim, or hidden_size / num_attention_heads when the config leaves it out.</summary>
    public int AttentionHeadDim => HeadDim ?? HiddenSize / NumAttentionHeads;

    MistralRope? Rope => RopeParameters ?? RopeScaling;

    public double Theta => Rope?.RopeTheta ?? RopeTheta ?? 10000.0;

    /// <summary>Checks what the graph relies on: default (unscaled) RoPE, full attention, grouped heads that divide.</summary>
    public void Validate(string origin)
    {
        string type = Rope?.RopeType ?? Rope?.Type ?? "default";
        if (type != "default")
            throw new CheckpointException(origin, $"rope type '{type}' is not supported (the Mistral text encoder graph uses 'default')");
        if (SlidingWindow is int w)
            throw new CheckpointException(origin, $"sliding_window {w} is not supported (the Mistral text encoder graph attends to the whole prompt)");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new CheckpointException(origin, $"num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {NumKeyValueHeads}");
        if (AttentionHeadDim % 2 != 0)
            throw new CheckpointException(origin, $"head_dim {AttentionHeadDim} must be even for RoPE");
    }
}

/// <summary>rope_parameters (transformers 5) / rope_scaling (older) of a Mistral config.</summary>
public sealed record MistralRope
{
    public double? RopeTheta { get; init; }
    public string? RopeType { get; init; }
    public string? Type { get; init; }
}

/// <summary>The root of a Mistral3ForConditionalGeneration config.json: the language model's config nested.</summary>
public sealed record Mistral3ConfigFile
{
    public string ModelType { get; init; } = "";
    public MistralTextConfig? TextConfig { get; init; }
}
