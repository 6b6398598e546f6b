using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Exporter.Models.Shared.Qwen25VL;

namespace VisualGen.Exporter.Models.Shared.Gemma3;

/// <summary>
/// transformers' Gemma3TextModel as a text encoder whose every layer's states are wanted (LTX-2): embeddings scaled
/// by sqrt(hidden_size), decoder layers with causal attention (sliding-window layers see the last sliding_window
/// keys) over the tokens the attention mask keeps, positions 0..L−1 (padding included, as transformers counts them),
/// final norm. The graph output <c>hidden_states</c> [batch, L, hidden·(layers + 1)] holds the embeddings, each
/// layer's output and the normed last layer stacked on the last axis (channel-major), as LTX2Pipeline packs
/// them: torch.stack(hidden_states, −1).flatten(2, 3).
/// </summary>
public sealed class Gemma3TextModel
{
    public const string InputIdsInput = "input_ids", MaskInput = "attention_mask", HiddenStatesOutput = "hidden_states";

    readonly Gemma3TextConfig _c;
    readonly Embedding _embedTokens;
    readonly Gemma3DecoderLayer[] _layers;
    readonly Gemma3RmsNorm _norm;

    public Gemma3TextModel(Weights w, Gemma3TextConfig c)
    {
        _c = c;
        _embedTokens = new Embedding(w.Sub("embed_tokens"), c.VocabSize, c.HiddenSize);
        _layers = Enumerable.Range(0, c.NumHiddenLayers).Select(i => new Gemma3DecoderLayer(w.Sub($"layers.{i}"), c)).ToArray();
        _norm = new Gemma3RmsNorm(w.Sub("norm"), c.HiddenSize, c.RmsNormEps);
    }

    /// <summary>Additive mask [batch, 1, L, L]: key j is visible to query i when j ≤ i, the key is a token, and
    /// (sliding layers) j &gt; i − sliding_window.</summary>
    static Tensor Mask(Tracer t, Tensor attentionMask, Dim length, int? window)
    {
        var pos = Tensor.Arange(t, length);
        var query = pos.Unsqueeze(1);
        var key = pos.Unsqueeze(0);
        var blocked = key.Greater(query);
        if (window is int wnd)
            blocked = t.Op("Or", [blocked, (query - key).Greater(t.Int64(wnd - 1))], null, TensorDType.Bool);
        var structural = t.Scalar(AttentionMasks.Min).Where(blocked, t.Scalar(0f)).Unsqueeze(0, 1);
        return AttentionMasks.Combine(structural, AttentionMasks.Padding(attentionMask));
    }

    public Tensor Forward(Tensor inputIds, Tensor attentionMask)
    {
        var t = inputIds.Tracer;
        Dim length = inputIds.Size(1);
        var positions = Tensor.Arange(t, length).Unsqueeze(0);
        var x = _embedTokens.Forward(inputIds) * (float)Math.Sqrt(_c.HiddenSize);
        var ropes = new Dictionary<bool, (Tensor, Tensor)>();
        var masks = new Dictionary<bool, Tensor>();
        var states = new List<Tensor> { x };
        for (int i = 0; i < _layers.Length; i++)
        {
            bool sliding = _c.IsSliding(i);
            if (!ropes.TryGetValue(sliding, out var rope))
                ropes[sliding] = rope = new Qwen25VLRotaryEmbedding(_c.HeadDim, _c.Theta(sliding)).Forward(positions);
            if (!masks.TryGetValue(sliding, out var mask))
                masks[sliding] = mask = Mask(t, attentionMask, length, sliding ? _c.SlidingWindow : null);
            using (t.Scope($"layers.{i}")) x = _layers[i].Forward(x, rope, mask);
            states.Add(x);
        }
        states[^1] = _norm.Forward(x);
        var stacked = Tensor.Concat(3, states.Select(s => s.Unsqueeze(3)).ToArray());
        return stacked.Reshape(0, 0, _c.HiddenSize * states.Count);
    }

    /// <summary>Traces the text model of a Gemma3ForConditionalGeneration (or Gemma3ForCausalLM) component folder.</summary>
    public static Graph.Graph Trace(string componentDir, ITensorSource weights)
    {
        string configPath = Path.Combine(componentDir, "config.json");
        var file = ComponentConfig.FromFile(configPath);
        var config = file.ToRecord<Gemma3ConfigFile>().TextConfig ?? file.ToRecord<Gemma3TextConfig>();
        config.Validate(configPath);
        var tracer = new Tracer("gemma3_text_model");
        var root = new Weights(tracer, weights, componentDir);
        // transformers < 5 saved the text model under "language_model.model."; transformers 5 under "model.language_model."
        string prefix = new[] { "language_model.model", "model.language_model", "model" }.FirstOrDefault(p => root.Has(p + ".embed_tokens.weight"))
            ?? throw new CheckpointException(componentDir, "no Gemma 3 text model weights (embed_tokens) under language_model.model., model.language_model. or model.");
        var model = new Gemma3TextModel(root.Sub(prefix), config);
        root.CheckAllUsed("vision_tower.", "multi_modal_projector.", "lm_head.");
        var ids = tracer.Input(InputIdsInput, TensorDType.I64, "batch", "seq");
        var mask = tracer.Input(MaskInput, TensorDType.I64, "batch", "seq");
        tracer.Output(model.Forward(ids, mask), HiddenStatesOutput, "batch", "seq", (config.HiddenSize * (config.NumHiddenLayers + 1)).ToString());
        tracer.Graph.Metadata["visualgen.class"] = "Gemma3ForConditionalGeneration.language_model";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
