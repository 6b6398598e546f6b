using System.Text.Json.Nodes;

namespace VisualGen.Demo;

/// <summary>
/// The demo's text encoder, transformers' UMT5EncoderModel: its config.json and the parameter tree
/// (shared embedding, per-block relative attention bias as UMT5 has, gated-GELU feed-forward), derived
/// from the config. The vocabulary size is the demo tokenizer's.
/// </summary>
internal sealed record DemoUmt5Encoder
{
    public const string ClassName = "UMT5EncoderModel";

    public required int VocabSize { get; init; }
    public int DModel { get; init; } = 32;
    public int DKv { get; init; } = 8;
    public int DFf { get; init; } = 64;
    public int NumHeads { get; init; } = 4;
    public int NumLayers { get; init; } = 2;
    public int RelativeAttentionNumBuckets { get; init; } = 8;
    public int RelativeAttentionMaxDistance { get; init; } = 16;

    public JsonObject Config(int padId, int eosId) => new()
    {
        ["architectures"] = DemoJson.Array([ClassName]),
        ["classifier_dropout"] = 0.0,
        ["d_ff"] = DFf,
        ["d_kv"] = DKv,
        ["d_model"] = DModel,
        ["decoder_start_token_id"] = padId,
        ["dense_act_fn"] = "gelu_new",
        ["dropout_rate"] = 0.0,
        ["dtype"] = "float32",
        ["eos_token_id"] = eosId,
        ["feed_forward_proj"] = "gated-gelu",
        ["initializer_factor"] = 1.0,
        ["is_decoder"] = false,
        ["is_encoder_decoder"] = true,
        ["is_gated_act"] = true,
        ["layer_norm_epsilon"] = 1e-6,
        ["model_type"] = "umt5",
        ["num_decoder_layers"] = NumLayers,
        ["num_heads"] = NumHeads,
        ["num_layers"] = NumLayers,
        ["pad_token_id"] = padId,
        ["relative_attention_max_distance"] = RelativeAttentionMaxDistance,
        ["relative_attention_num_buckets"] = RelativeAttentionNumBuckets,
        ["tie_word_embeddings"] = true,
        ["use_cache"] = true,
        ["vocab_size"] = VocabSize,
    };

    public IReadOnlyList<ParameterSpec> Parameters()
    {
        int inner = NumHeads * DKv;
        var p = new ParameterList();
        // encoder.embed_tokens shares shared.weight and is not saved.
        p.Add("shared.weight", [VocabSize, DModel], ParameterInit.Embedding);
        for (int i = 0; i < NumLayers; i++)
        {
            string attention = $"encoder.block.{i}.layer.0";
            p.Linear(attention + ".SelfAttention.q", DModel, inner, bias: false);
            p.Linear(attention + ".SelfAttention.k", DModel, inner, bias: false);
            p.Linear(attention + ".SelfAttention.v", DModel, inner, bias: false);
            p.Linear(attention + ".SelfAttention.o", inner, DModel, bias: false);
            p.Add(attention + ".SelfAttention.relative_attention_bias.weight", [RelativeAttentionNumBuckets, NumHeads], ParameterInit.RelativeBias);
            p.Scale(attention + ".layer_norm.weight", DModel);

            string feedForward = $"encoder.block.{i}.layer.1";
            p.Linear(feedForward + ".DenseReluDense.wi_0", DModel, DFf, bias: false);
            p.Linear(feedForward + ".DenseReluDense.wi_1", DModel, DFf, bias: false);
            p.Linear(feedForward + ".DenseReluDense.wo", DFf, DModel, bias: false);
            p.Scale(feedForward + ".layer_norm.weight", DModel);
        }
        p.Scale("encoder.final_layer_norm.weight", DModel);
        return p.Specs;
    }
}
