using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Gemma3;

/// <summary>Gemma3DecoderLayer: attention and the GELU-tanh gated MLP, each between a pre-norm and a post-norm,
/// each added to the residual.</summary>
public sealed class Gemma3DecoderLayer
{
    readonly Gemma3RmsNorm _inputLayernorm, _postAttentionLayernorm, _preFeedforwardLayernorm, _postFeedforwardLayernorm;
    readonly Gemma3Attention _selfAttn;
    readonly Linear _gate, _up, _down;

    public Gemma3DecoderLayer(Weights w, Gemma3TextConfig c)
    {
        _inputLayernorm = new Gemma3RmsNorm(w.Sub("input_layernorm"), c.HiddenSize, c.RmsNormEps);
        _postAttentionLayernorm = new Gemma3RmsNorm(w.Sub("post_attention_layernorm"), c.HiddenSize, c.RmsNormEps);
        _preFeedforwardLayernorm = new Gemma3RmsNorm(w.Sub("pre_feedforward_layernorm"), c.HiddenSize, c.RmsNormEps);
        _postFeedforwardLayernorm = new Gemma3RmsNorm(w.Sub("post_feedforward_layernorm"), c.HiddenSize, c.RmsNormEps);
        _selfAttn = new Gemma3Attention(w.Sub("self_attn"), c);
        _gate = new Linear(w.Sub("mlp.gate_proj"), c.HiddenSize, c.IntermediateSize, bias: false);
        _up = new Linear(w.Sub("mlp.up_proj"), c.HiddenSize, c.IntermediateSize, bias: false);
        _down = new Linear(w.Sub("mlp.down_proj"), c.IntermediateSize, c.HiddenSize, bias: false);
    }

    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rope, Tensor mask)
    {
        x = x + _postAttentionLayernorm.Forward(_selfAttn.Forward(_inputLayernorm.Forward(x), rope, mask));
        var h = _preFeedforwardLayernorm.Forward(x);
        h = _down.Forward(_gate.Forward(h).Gelu(tanhApproximation: true) * _up.Forward(h));
        return x + _postFeedforwardLayernorm.Forward(h);
    }
}
