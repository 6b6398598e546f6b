namespace VisualGen.Bench.ExportMemory;

/// <summary>The tensor names and shapes of a WanTransformer3DModel checkpoint (diffusers' transformer_wan.py module
/// tree, T2V: no image embedder, no added K/V) for a config.</summary>
sealed record WanCheckpointLayout(int Heads, int HeadDim, int Layers, int FfnDim, int TextDim, int FreqDim, int InChannels, int OutChannels, int[] Patch)
{
    public int Dim => Heads * HeadDim;

    /// <summary>The Wan 2.1 T2V 1.3B configuration.</summary>
    public static WanCheckpointLayout Wan13B { get; } = new(12, 128, 30, 8960, 4096, 256, 16, 16, [1, 2, 2]);

    /// <summary>(name, shape, fan-in) for every tensor; fan-in 0 marks norm weights (values around 1).</summary>
    public IEnumerable<(string Name, long[] Shape, long FanIn)> Tensors()
    {
        int d = Dim, pp = Patch[0] * Patch[1] * Patch[2];
        IEnumerable<(string, long[], long)> Linear(string p, int inF, int outF) =>
            [(p + ".weight", [outF, inF], inF), (p + ".bias", [outF], inF)];

        yield return ("patch_embedding.weight", [d, InChannels, Patch[0], Patch[1], Patch[2]], InChannels * pp);
        yield return ("patch_embedding.bias", [d], InChannels * pp);
        foreach (var t in Linear("condition_embedder.time_embedder.linear_1", FreqDim, d)) yield return t;
        foreach (var t in Linear("condition_embedder.time_embedder.linear_2", d, d)) yield return t;
        foreach (var t in Linear("condition_embedder.time_proj", d, 6 * d)) yield return t;
        foreach (var t in Linear("condition_embedder.text_embedder.linear_1", TextDim, d)) yield return t;
        foreach (var t in Linear("condition_embedder.text_embedder.linear_2", d, d)) yield return t;
        for (int i = 0; i < Layers; i++)
        {
            string b = $"blocks.{i}.";
            foreach (var attn in new[] { "attn1", "attn2" })
            {
                foreach (var m in new[] { "to_q", "to_k", "to_v", "to_out.0" })
                    foreach (var t in Linear(b + attn + "." + m, d, d)) yield return t;
                yield return (b + attn + ".norm_q.weight", [d], 0);
                yield return (b + attn + ".norm_k.weight", [d], 0);
            }
            yield return (b + "norm2.weight", [d], 0);
            yield return (b + "norm2.bias", [d], d);
            foreach (var t in Linear(b + "ffn.net.0.proj", d, FfnDim)) yield return t;
            foreach (var t in Linear(b + "ffn.net.2", FfnDim, d)) yield return t;
            yield return (b + "scale_shift_table", [1, 6, d], d);
        }
        foreach (var t in Linear("proj_out", d, OutChannels * pp)) yield return t;
        yield return ("scale_shift_table", [1, 2, d], d);
    }

    public Dictionary<string, object?> Config() => new()
    {
        ["_class_name"] = "WanTransformer3DModel", ["patch_size"] = Patch, ["num_attention_heads"] = Heads,
        ["attention_head_dim"] = HeadDim, ["in_channels"] = InChannels, ["out_channels"] = OutChannels, ["text_dim"] = TextDim,
        ["freq_dim"] = FreqDim, ["ffn_dim"] = FfnDim, ["num_layers"] = Layers, ["cross_attn_norm"] = true,
        ["qk_norm"] = "rms_norm_across_heads", ["eps"] = 1e-6, ["image_dim"] = null, ["added_kv_proj_dim"] = null,
        ["rope_max_seq_len"] = 1024, ["pos_embed_seq_len"] = null,
    };
}
