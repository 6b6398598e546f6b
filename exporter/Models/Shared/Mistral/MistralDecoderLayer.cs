using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Mistral;

/// <summary>MistralDecoderLayer: x + self_attn(input_layernorm(x)), then x + mlp(post_attention_layernorm(x)) with the
/// gated MLP down_proj(act(gate_proj(x)) · up_proj(x)); RMSNorms, no biases.</summary>
public sealed class MistralDecoderLayer
{
    readonly RmsNorm _inputLayernorm, _postAttentionLayernorm;
    readonly MistralAttention _selfAttn;
    readonly Linear _gate, _up, _down;
    readonly Func<Tensor, Tensor> _act;

    public MistralDecoderLayer(Weights w, MistralTextConfig c, string origin)
    {
        _inputLayernorm = new RmsNorm(w.Sub("input_layernorm"), c.HiddenSize, c.RmsNormEps);
        _selfAttn = new MistralAttention(w.Sub("self_attn"), c);
        _postAttentionLayernorm = new RmsNorm(w.Sub("post_attention_layernorm"), c.HiddenSize, c.RmsNormEps);
        _gate = new Linear(w.Sub("mlp.gate_proj"), c.HiddenSize, c.IntermediateSize, bias: false);
        _up = new Linear(w.Sub("mlp.up_proj"), c.HiddenSize, c.IntermediateSize, bias: false);
        _down = new Linear(w.Sub("mlp.down_proj"), c.IntermediateSize, c.HiddenSize, bias: false);
        _act = Activations.Get(c.HiddenAct, origin);
    }

    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rope, Tensor mask)
    {
        x = x + _selfAttn.Forward(_inputLayernorm.Forward(x), rope, mask);
        var h = _postAttentionLayernorm.Forward(x);
        return x + _down.Forward(_act(_gate.Forward(h)) * _up.Forward(h));
    }
}
