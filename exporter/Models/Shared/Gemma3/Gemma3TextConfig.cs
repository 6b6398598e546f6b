using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Models.Shared.Gemma3;

/// <summary>transformers' Gemma3TextConfig: config.json's <c>text_config</c> (Gemma3ForConditionalGeneration) or
/// the root (Gemma3ForCausalLM). RoPE thetas come from <c>rope_parameters</c> (transformers 5: one entry per layer
/// type) or from <c>rope_theta</c> / <c>rope_local_base_freq</c> (older configs).</summary>
public sealed record Gemma3TextConfig
{
    public int VocabSize { get; init; } = 262208;
    public int HiddenSize { get; init; } = 2304;
    public int IntermediateSize { get; init; } = 9216;
    public int NumHiddenLayers { get; init; } = 26;
    public int NumAttentionHeads { get; init; } = 8;
    public int NumKeyValueHeads { get; init; } = 4;
    public int HeadDim { get; init; } = 256;
    public string HiddenActivation { get; init; } = "gelu_pytorch_tanh";
    public float RmsNormEps { get; init; } = 1e-6f;
    public double QueryPreAttnScalar { get; init; } = 256;
    public int SlidingWindow { get; init; } = 4096;
    public string[]? LayerTypes { get; init; }
    public int SlidingWindowPattern { get; init; } = 6;
    public double? AttnLogitSoftcapping { get; init; }
    public bool UseBidirectionalAttention { get; init; }
    public double RopeTheta { get; init; } = 1_000_000.0;
    public double RopeLocalBaseFreq { get; init; } = 10_000.0;
    public Gemma3RopeParameters? RopeParameters { get; init; }

    /// <summary>Whether layer <paramref name="i"/> uses sliding-window attention (and the local RoPE theta).</summary>
    public bool IsSliding(int i) => LayerTypes is { } types ? types[i] == "sliding_attention" : (i + 1) % SlidingWindowPattern != 0;

    public double Theta(bool sliding) => sliding
        ? RopeParameters?.SlidingAttention?.RopeTheta ?? RopeLocalBaseFreq
        : RopeParameters?.FullAttention?.RopeTheta ?? RopeTheta;

    public void Validate(string origin)
    {
        if (HiddenActivation != "gelu_pytorch_tanh")
            throw new CheckpointException(origin, $"hidden_activation '{HiddenActivation}' is not supported (Gemma 3 uses gelu_pytorch_tanh)");
        if (AttnLogitSoftcapping is not null) throw new CheckpointException(origin, "attn_logit_softcapping is not supported (Gemma 3 sets it to null)");
        if (UseBidirectionalAttention) throw new CheckpointException(origin, "use_bidirectional_attention is not supported (the text encoder is causal)");
        if (LayerTypes is { } t && t.Length != NumHiddenLayers)
            throw new CheckpointException(origin, $"layer_types has {t.Length} entries for {NumHiddenLayers} layers");
        if (LayerTypes?.FirstOrDefault(x => x is not ("sliding_attention" or "full_attention")) is string bad)
            throw new CheckpointException(origin, $"layer type '{bad}' is not one of sliding_attention, full_attention");
        foreach (var r in new[] { RopeParameters?.FullAttention, RopeParameters?.SlidingAttention })
            if (r is not null && r.RopeType != "default")
                throw new CheckpointException(origin, $"rope type '{r.RopeType}' is not supported (the text encoder implements 'default')");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new CheckpointException(origin, $"num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {NumKeyValueHeads}");
    }
}

public sealed record Gemma3RopeParameters
{
    public Gemma3Rope? FullAttention { get; init; }
    public Gemma3Rope? SlidingAttention { get; init; }
}

public sealed record Gemma3Rope
{
    public double RopeTheta { get; init; } = 10_000.0;
    public string RopeType { get; init; } = "default";
}

/// <summary>Gemma3ForConditionalGeneration's config.json: the text model's fields under <c>text_config</c>.</summary>
public sealed record Gemma3ConfigFile
{
    public Gemma3TextConfig? TextConfig { get; init; }
}
