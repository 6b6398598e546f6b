using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Qwen25VL;

/// <summary>
/// The language model of Qwen2_5_VLForConditionalGeneration on text only (transformers' modeling_qwen2_5_vl.py), as
/// Qwen-Image's text encoder uses it: token embedding, decoder layers under a causal plus padding mask with RoPE over
/// positions cumsum(attention_mask) - 1 (padding at position 1, as get_rope_index does without images), final norm.
/// The vision tower and the LM head are not part of it.
/// Graph inputs: input_ids int64 [batch, seq], attention_mask int64 [batch, seq] (1 = token, 0 = padding).
/// Output: last_hidden_state float32 [batch, seq, hidden] (hidden_states[-1], after the final norm).
/// </summary>
public sealed class Qwen25VLTextModel
{
    readonly Embedding _embedTokens;
    readonly Qwen25VLRotaryEmbedding _rotary;
    readonly Qwen25VLDecoderLayer[] _layers;
    readonly RmsNorm _norm;

    public Qwen25VLTextModel(Weights w, Qwen25VLTextConfig c, string origin)
    {
        c.Validate(origin);
        _embedTokens = new Embedding(w.Sub("embed_tokens"), c.VocabSize, c.HiddenSize);
        _rotary = new Qwen25VLRotaryEmbedding(c.HeadDim, c.Theta);
        _layers = Enumerable.Range(0, c.NumHiddenLayers).Select(i => new Qwen25VLDecoderLayer(w.Sub($"layers.{i}"), c, origin)).ToArray();
        _norm = new RmsNorm(w.Sub("norm"), c.HiddenSize, c.RmsNormEps);
    }

    public Tensor Forward(Tensor inputIds, Tensor attentionMask)
    {
        var t = inputIds.Tracer;
        var positionIds = t.Int64(1).Where(attentionMask.Equal(t.Int64(0)), attentionMask.CumSum(1) - 1f);
        var rope = _rotary.Forward(positionIds);
        var mask = AttentionMasks.Combine(AttentionMasks.Causal(t, inputIds.Size(1)), AttentionMasks.Padding(attentionMask));
        var x = _embedTokens.Forward(inputIds);
        for (int i = 0; i < _layers.Length; i++)
            using (t.Scope($"layers.{i}"))
                x = _layers[i].Forward(x, rope, mask);
        return _norm.Forward(x);
    }

    /// <summary>Traces the text model of a Qwen2_5_VLForConditionalGeneration component folder (Qwen-Image's
    /// text_encoder) into a graph.</summary>
    public static Graph.Graph Trace(string componentDir, ITensorSource weights)
    {
        string configPath = Path.Combine(componentDir, "config.json");
        var file = ComponentConfig.FromFile(configPath);
        var config = file.ToRecord<Qwen25VLConfigFile>().TextConfig ?? file.ToRecord<Qwen25VLTextConfig>();
        var tracer = new Tracer("qwen2_5_vl_text_model");
        var root = new Weights(tracer, weights, componentDir);
        // transformers ≥ 4.52 saves the language model under "model.language_model."; earlier checkpoints under "model."
        var w = root.Has("model.language_model.embed_tokens.weight") ? root.Sub("model.language_model") : root.Sub("model");
        var model = new Qwen25VLTextModel(w, config, configPath);
        root.CheckAllUsed("visual.", "lm_head.");
        var ids = tracer.Input("input_ids", TensorDType.I64, "batch", "seq");
        var mask = tracer.Input("attention_mask", TensorDType.I64, "batch", "seq");
        tracer.Output(model.Forward(ids, mask), "last_hidden_state", "batch", "seq", config.HiddenSize.ToString());
        tracer.Graph.Metadata["visualgen.class"] = "Qwen2_5_VLForConditionalGeneration.language_model";
        // the mask is read when an engine plans a shape: the positions (its cumulative sum), the rotary tables and the
        // causal + padding mask fold there like constants (the native CUDA engine has no device CumSum)
        tracer.Graph.Metadata[GraphMetadata.PlanTimeInputs] = "attention_mask";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
