using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.T5;

/// <summary>
/// T5EncoderModel and UMT5EncoderModel (transformers' modeling_t5.py / modeling_umt5.py), one definition: config.json's
/// model_type says whether only layer 0 owns a relative_attention_bias that every layer reuses (t5) or each layer owns
/// one (umt5). Forward as the reference's encoder stack: shared token embedding, position bias (relative bias plus
/// the padding mask as additive large negatives), blocks, final_layer_norm.
/// Graph inputs: input_ids int64 [batch, seq], attention_mask int64 [batch, seq] (1 = token, 0 = padding; all ones
/// for callers that pass no mask, as FLUX does). Output: last_hidden_state float32 [batch, seq, d_model].
/// </summary>
public sealed class T5Encoder
{
    readonly T5Config _c;
    readonly bool _perLayerBias;
    readonly Embedding _embedTokens;
    readonly T5Block[] _blocks;
    readonly RmsNorm _finalLayerNorm;

    /// <summary>The checkpoint keys of the token embedding, in the order they are looked for: T5EncoderModel saves the
    /// tied table as <c>shared.weight</c>, some exports only as <c>encoder.embed_tokens.weight</c>.</summary>
    public static readonly string[] EmbeddingKeys = ["shared.weight", "encoder.embed_tokens.weight"];

    public T5Encoder(Weights w, T5Config c, string origin)
    {
        _c = c;
        _perLayerBias = c.HasPerLayerRelativeBias(origin);
        string embeddingKey = EmbeddingKeys.FirstOrDefault(w.Has)
            ?? throw new CheckpointException(origin, $"no token embedding: expected one of {string.Join(", ", EmbeddingKeys)}");
        _embedTokens = new Embedding(w, c.VocabSize, c.DModel, embeddingKey);
        var e = w.Sub("encoder");
        _blocks = Enumerable.Range(0, c.NumLayers)
            .Select(i => new T5Block(e.Sub($"block.{i}"), c, hasRelativeAttentionBias: _perLayerBias || i == 0, origin)).ToArray();
        _finalLayerNorm = new RmsNorm(e.Sub("final_layer_norm"), c.DModel, c.LayerNormEpsilon);
    }

    public Tensor Forward(Tensor inputIds, Tensor attentionMask)
    {
        var t = inputIds.Tracer;
        var seqLen = inputIds.Size(1);
        var mask = AttentionMasks.Padding(attentionMask);
        var x = _embedTokens.Forward(inputIds);

        Tensor? sharedBias = null;
        for (int i = 0; i < _blocks.Length; i++)
            using (t.Scope($"encoder.block.{i}"))
            {
                Tensor positionBias;
                if (_perLayerBias) positionBias = _blocks[i].SelfAttention.RelativeAttentionBias!.Forward(t, seqLen) + mask;
                else positionBias = sharedBias ??= _blocks[0].SelfAttention.RelativeAttentionBias!.Forward(t, seqLen) + mask;
                x = _blocks[i].Forward(x, positionBias);
            }
        return _finalLayerNorm.Forward(x);
    }

    /// <summary>Traces the encoder of a checkpoint component folder (text_encoder, text_encoder_2) into a graph.</summary>
    public static Graph.Graph Trace(string componentDir, ITensorSource weights)
    {
        string configPath = Path.Combine(componentDir, "config.json");
        var config = ComponentConfig.FromFile(configPath).ToRecord<T5Config>();
        var tracer = new Tracer($"{config.ModelType}_encoder");
        var w = new Weights(tracer, weights, componentDir);
        var model = new T5Encoder(w, config, configPath);
        // the tied copy of the token embedding and the decoder / LM head of full seq2seq checkpoints are not the encoder's
        w.CheckAllUsed(["encoder.embed_tokens.weight", "decoder.", "lm_head."]);
        var ids = tracer.Input("input_ids", TensorDType.I64, "batch", "seq");
        var mask = tracer.Input("attention_mask", TensorDType.I64, "batch", "seq");
        tracer.Output(model.Forward(ids, mask), "last_hidden_state", "batch", "seq", config.DModel.ToString());
        tracer.Graph.Metadata["visualgen.class"] = config.ModelType == "umt5" ? "UMT5EncoderModel" : "T5EncoderModel";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
