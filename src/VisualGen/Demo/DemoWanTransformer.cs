using System.Text.Json.Nodes;

namespace VisualGen.Demo;

/// <summary>
/// The demo's WanTransformer3DModel: its config and the parameter tree of diffusers' transformer_wan.py
/// (text-to-video: no image embedder, no added K/V projections), derived from the config.
/// </summary>
internal sealed record DemoWanTransformer
{
    public const string ClassName = "WanTransformer3DModel";

    public int[] PatchSize { get; init; } = [1, 2, 2];
    public int NumAttentionHeads { get; init; } = 2;
    public int AttentionHeadDim { get; init; } = 16;
    public int InChannels { get; init; } = 16;
    public int OutChannels { get; init; } = 16;
    public int TextDim { get; init; } = 32;
    public int FreqDim { get; init; } = 256;
    public int FfnDim { get; init; } = 64;
    public int NumLayers { get; init; } = 2;
    public bool CrossAttnNorm { get; init; } = true;
    public string QkNorm { get; init; } = "rms_norm_across_heads";
    public double Eps { get; init; } = 1e-6;
    /// <summary>As the real checkpoints: the demo takes the README's 480×832×81 (52 patches across).</summary>
    public int RopeMaxSeqLen { get; init; } = 1024;

    int InnerDim => NumAttentionHeads * AttentionHeadDim;

    public JsonObject Config() => new()
    {
        ["_class_name"] = ClassName,
        ["_diffusers_version"] = DemoModel.DiffusersVersion,
        ["added_kv_proj_dim"] = null,
        ["attention_head_dim"] = AttentionHeadDim,
        ["cross_attn_norm"] = CrossAttnNorm,
        ["eps"] = Eps,
        ["ffn_dim"] = FfnDim,
        ["freq_dim"] = FreqDim,
        ["image_dim"] = null,
        ["in_channels"] = InChannels,
        ["num_attention_heads"] = NumAttentionHeads,
        ["num_layers"] = NumLayers,
        ["out_channels"] = OutChannels,
        ["patch_size"] = DemoJson.Array(PatchSize),
        ["pos_embed_seq_len"] = null,
        ["qk_norm"] = QkNorm,
        ["rope_max_seq_len"] = RopeMaxSeqLen,
        ["text_dim"] = TextDim,
    };

    public IReadOnlyList<ParameterSpec> Parameters()
    {
        if (QkNorm != "rms_norm_across_heads")
            throw new InvalidOperationException($"demo transformer: qk_norm '{QkNorm}' is not modelled (only rms_norm_across_heads)");
        int dim = InnerDim;
        var p = new ParameterList();
        p.Conv("patch_embedding", InChannels, dim, [.. PatchSize.Select(k => (long)k)]);

        // WanTimeTextImageEmbedding: TimestepEmbedding(freq_dim → dim), time_proj (dim → 6·dim), PixArt-α text projection.
        p.Linear("condition_embedder.time_embedder.linear_1", FreqDim, dim);
        p.Linear("condition_embedder.time_embedder.linear_2", dim, dim);
        p.Linear("condition_embedder.time_proj", dim, 6 * dim);
        p.Linear("condition_embedder.text_embedder.linear_1", TextDim, dim);
        p.Linear("condition_embedder.text_embedder.linear_2", dim, dim);

        for (int i = 0; i < NumLayers; i++)
        {
            string b = $"blocks.{i}";
            // norm1 and norm3 are FP32LayerNorm without affine parameters.
            Attention(p, b + ".attn1", dim);
            if (CrossAttnNorm)
            {
                p.Scale(b + ".norm2.weight", dim);
                p.Add(b + ".norm2.bias", [dim], ParameterInit.Bias);
            }
            Attention(p, b + ".attn2", dim);
            p.Linear(b + ".ffn.net.0.proj", dim, FfnDim); // GELU(tanh) projection
            p.Linear(b + ".ffn.net.2", FfnDim, dim);
            p.Add(b + ".scale_shift_table", [1, 6, dim], ParameterInit.Table, dim);
        }

        p.Linear("proj_out", dim, OutChannels * PatchSize.Aggregate(1, (a, k) => a * k));
        p.Add("scale_shift_table", [1, 2, dim], ParameterInit.Table, dim);
        return p.Specs;
    }

    // WanAttention: to_q/k/v, to_out.0 with biases; RMSNorm over all heads (dim_head · heads) for q and k.
    static void Attention(ParameterList p, string prefix, int dim)
    {
        p.Linear(prefix + ".to_q", dim, dim);
        p.Linear(prefix + ".to_k", dim, dim);
        p.Linear(prefix + ".to_v", dim, dim);
        p.Linear(prefix + ".to_out.0", dim, dim);
        p.Scale(prefix + ".norm_q.weight", dim);
        p.Scale(prefix + ".norm_k.weight", dim);
    }
}
