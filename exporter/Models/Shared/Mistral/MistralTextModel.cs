using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Shared.Qwen25VL;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Mistral;

/// <summary>
/// transformers' MistralModel (the language model of Mistral3ForConditionalGeneration) on text only: token embedding,
/// decoder layers under a causal plus padding mask with RoPE over positions 0..seq−1, final norm. Built up to the
/// deepest hidden state a caller asks for, so the layers after it are neither traced nor needed.
/// Hidden states are numbered as transformers' <c>output_hidden_states</c>: 0 is the embedding output, i the output
/// of layer i, and the last (num_hidden_layers) is after the final norm.
/// </summary>
public sealed class MistralTextModel
{
    readonly MistralTextConfig _c;
    readonly Embedding _embedTokens;
    readonly Qwen25VLRotaryEmbedding _rotary;
    readonly MistralDecoderLayer[] _layers;
    readonly RmsNorm? _norm;

    /// <param name="upToHiddenState">the deepest hidden state needed (0..num_hidden_layers)</param>
    public MistralTextModel(Weights w, MistralTextConfig c, string origin, int upToHiddenState)
    {
        c.Validate(origin);
        if (upToHiddenState < 0 || upToHiddenState > c.NumHiddenLayers)
            throw new Checkpoints.CheckpointException(origin, $"hidden state {upToHiddenState} was asked for; the model has {c.NumHiddenLayers} layers (hidden states 0..{c.NumHiddenLayers})");
        _c = c;
        _embedTokens = new Embedding(w.Sub("embed_tokens"), c.VocabSize, c.HiddenSize);
        _rotary = new Qwen25VLRotaryEmbedding(c.AttentionHeadDim, c.Theta);
        _layers = Enumerable.Range(0, upToHiddenState).Select(i => new MistralDecoderLayer(w.Sub($"layers.{i}"), c, origin)).ToArray();
        if (upToHiddenState == c.NumHiddenLayers) _norm = new RmsNorm(w.Sub("norm"), c.HiddenSize, c.RmsNormEps);
    }

    /// <summary>Hidden states 0..upToHiddenState for int64 input_ids and attention_mask [batch, seq] (1 = token).</summary>
    public Tensor[] HiddenStates(Tensor inputIds, Tensor attentionMask)
    {
        var t = inputIds.Tracer;
        var positionIds = Tensor.Arange(t, inputIds.Size(1)).Unsqueeze(0);
        var rope = _rotary.Forward(positionIds);
        var mask = AttentionMasks.Combine(AttentionMasks.Causal(t, inputIds.Size(1)), AttentionMasks.Padding(attentionMask));
        var states = new Tensor[_layers.Length + 1];
        states[0] = _embedTokens.Forward(inputIds);
        for (int i = 0; i < _layers.Length; i++)
            using (t.Scope($"layers.{i}"))
                states[i + 1] = _layers[i].Forward(states[i], rope, mask);
        if (_norm is not null) states[^1] = _norm.Forward(states[^1]);
        return states;
    }

    /// <summary>The weight-key prefixes of the layers this model does not build (for CheckAllUsed).</summary>
    public IEnumerable<string> UnbuiltLayerPrefixes(string modelPrefix) =>
        Enumerable.Range(_layers.Length, _c.NumHiddenLayers - _layers.Length).Select(i => $"{modelPrefix}layers.{i}.")
            .Concat(_norm is null ? [$"{modelPrefix}norm."] : []);
}
