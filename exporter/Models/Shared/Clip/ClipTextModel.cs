using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Clip;

/// <summary>
/// CLIPTextModel (transformers' modeling_clip.py): token + position embeddings, pre-LN encoder layers under a causal
/// mask, final_layer_norm, and the pooled output: the final state at the EOS token. As CLIPTextTransformer picks it:
/// with eos_token_id == 2 (legacy configs) the position of the largest id, otherwise the first position whose id
/// equals eos_token_id.
/// Graph input: input_ids int64 [batch, seq] (seq ≤ max_position_embeddings; no padding mask, as FLUX and Stable
/// Diffusion call it). Outputs: last_hidden_state float32 [batch, seq, hidden], pooler_output float32 [batch, hidden].
/// </summary>
public sealed class ClipTextModel
{
    readonly ClipTextConfig _c;
    readonly Embedding _tokenEmbedding;
    readonly Tensor _positionEmbedding;
    readonly ClipEncoderLayer[] _layers;
    readonly LayerNorm _finalLayerNorm;

    public ClipTextModel(Weights w, ClipTextConfig c, string origin)
    {
        _c = c;
        _tokenEmbedding = new Embedding(w.Sub("embeddings.token_embedding"), c.VocabSize, c.HiddenSize);
        _positionEmbedding = w.Get("embeddings.position_embedding.weight", [c.MaxPositionEmbeddings, c.HiddenSize]);
        var act = Activations.Get(c.HiddenAct, origin);
        _layers = Enumerable.Range(0, c.NumHiddenLayers).Select(i => new ClipEncoderLayer(w.Sub($"encoder.layers.{i}"),
            c.HiddenSize, c.IntermediateSize, c.NumAttentionHeads, c.LayerNormEps, act)).ToArray();
        _finalLayerNorm = new LayerNorm(w.Sub("final_layer_norm"), c.HiddenSize, c.LayerNormEps, elementwiseAffine: true);
    }

    public (Tensor LastHiddenState, Tensor PooledOutput) Forward(Tensor inputIds)
    {
        var t = inputIds.Tracer;
        Dim seq = inputIds.Size(1);
        var x = _tokenEmbedding.Forward(inputIds) + _positionEmbedding.Slice(0, 0L, seq);
        // the causal mask as the attention's is_causal attribute, not a [seq, seq] tensor
        for (int i = 0; i < _layers.Length; i++)
            using (t.Scope($"encoder.layers.{i}"))
                x = _layers[i].Forward(x, null, causal: true);
        x = _finalLayerNorm.Forward(x);

        // last_hidden_state[arange(batch), eos_index]: ArgMax keeps its axis ([batch, 1]), GatherND with one batch dim
        var ids = inputIds.Cast(TensorDType.I32);
        var eosIndex = _c.EosTokenId == 2
            ? ids.ArgMax(1, keepDims: true)
            : ids.Equal(t.Int64Const([_c.EosTokenId]).Cast(TensorDType.I32)).Cast(TensorDType.I32).ArgMax(1, keepDims: true);
        var pooled = x.GatherND(eosIndex, batchDims: 1);
        return (x, pooled);
    }

    /// <summary>Traces a CLIPTextModel component folder (FLUX's text_encoder) into a graph.</summary>
    public static Graph.Graph Trace(string componentDir, ITensorSource weights)
    {
        string configPath = Path.Combine(componentDir, "config.json");
        var config = ComponentConfig.FromFile(configPath).ToRecord<ClipTextConfig>();
        var tracer = new Tracer("clip_text_model");
        var root = new Weights(tracer, weights, componentDir);
        // transformers 4.x saved CLIPTextModel under "text_model."; 5.x checkpoints have no prefix
        var w = root.Has("text_model.embeddings.token_embedding.weight") ? root.Sub("text_model") : root;
        var model = new ClipTextModel(w, config, configPath);
        root.CheckAllUsed("embeddings.position_ids");
        var ids = tracer.Input("input_ids", TensorDType.I64, "batch", "seq");
        var (last, pooled) = model.Forward(ids);
        string hidden = config.HiddenSize.ToString();
        tracer.Output(last, "last_hidden_state", "batch", "seq", hidden);
        tracer.Output(pooled, "pooler_output", "batch", hidden);
        tracer.Graph.Metadata["visualgen.class"] = "CLIPTextModel";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
