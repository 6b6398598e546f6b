using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Models.Shared.T5;

/// <summary>transformers' T5Config / UMT5Config (config.json of T5EncoderModel / UMT5EncoderModel), encoder fields.</summary>
public sealed record T5Config
{
    public string ModelType { get; init; } = "t5";
    public int VocabSize { get; init; } = 32128;
    public int DModel { get; init; } = 512;
    public int DKv { get; init; } = 64;
    public int DFf { get; init; } = 2048;
    public int NumLayers { get; init; } = 6;
    public int NumHeads { get; init; } = 8;
    public int RelativeAttentionNumBuckets { get; init; } = 32;
    public int RelativeAttentionMaxDistance { get; init; } = 128;
    public float LayerNormEpsilon { get; init; } = 1e-6f;
    public string FeedForwardProj { get; init; } = "relu";
    /// <summary>Absent in older configs: then derived from <see cref="FeedForwardProj"/> as transformers does.</summary>
    public string? DenseActFn { get; init; }

    public int InnerDim => NumHeads * DKv;

    /// <summary>"gated-gelu" → gated; "relu" → not (T5Config's parsing of feed_forward_proj).</summary>
    public bool IsGatedAct => FeedForwardProj.StartsWith("gated-", StringComparison.Ordinal);

    /// <summary>The FFN activation: dense_act_fn, else the part after "gated-" ("gated-gelu" means gelu_new, as in T5Config).</summary>
    public string Activation
    {
        get
        {
            if (DenseActFn is not null) return DenseActFn;
            string act = IsGatedAct ? FeedForwardProj["gated-".Length..] : FeedForwardProj;
            return FeedForwardProj == "gated-gelu" ? "gelu_new" : act;
        }
    }

    /// <summary>Whether every layer has its own relative_attention_bias (UMT5) or only layer 0 has one that all
    /// layers share (T5), keyed by model_type.</summary>
    public static readonly IReadOnlyDictionary<string, bool> PerLayerRelativeBias = new Dictionary<string, bool>(StringComparer.Ordinal)
    {
        ["t5"] = false,
        ["umt5"] = true,
    };

    public bool HasPerLayerRelativeBias(string origin) =>
        PerLayerRelativeBias.TryGetValue(ModelType, out var perLayer) ? perLayer
            : throw new CheckpointException(origin, $"model_type '{ModelType}' is not a T5 encoder (known: {string.Join(", ", PerLayerRelativeBias.Keys)})");
}
