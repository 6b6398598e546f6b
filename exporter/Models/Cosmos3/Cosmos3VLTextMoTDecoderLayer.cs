using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Cosmos3;

/// <summary>Cosmos3VLTextMoTDecoderLayer: a mixture-of-transformers layer. Text and vision tokens each have their own
/// pre-norms, MLP and attention projections (the vision ones suffixed _moe_gen); they meet only in the attention.</summary>
public sealed class Cosmos3VLTextMoTDecoderLayer
{
    readonly RmsNorm _inputLayernorm, _inputLayernormMoeGen, _postAttentionLayernorm, _postAttentionLayernormMoeGen;
    readonly Cosmos3PackedMoTAttention _selfAttn;
    readonly Cosmos3VLTextMLP _mlp, _mlpMoeGen;

    public Cosmos3VLTextMoTDecoderLayer(Weights w, Cosmos3TransformerConfig c)
    {
        int dim = c.HiddenSize;
        _selfAttn = new Cosmos3PackedMoTAttention(w.Sub("self_attn"), c);
        _mlp = new Cosmos3VLTextMLP(w.Sub("mlp"), dim, c.IntermediateSize, c.HiddenAct);
        _mlpMoeGen = new Cosmos3VLTextMLP(w.Sub("mlp_moe_gen"), dim, c.IntermediateSize, c.HiddenAct);
        _inputLayernorm = new RmsNorm(w.Sub("input_layernorm"), dim, c.RmsNormEps);
        _inputLayernormMoeGen = new RmsNorm(w.Sub("input_layernorm_moe_gen"), dim, c.RmsNormEps);
        _postAttentionLayernorm = new RmsNorm(w.Sub("post_attention_layernorm"), dim, c.RmsNormEps);
        _postAttentionLayernormMoeGen = new RmsNorm(w.Sub("post_attention_layernorm_moe_gen"), dim, c.RmsNormEps);
    }

    public (Tensor Und, Tensor Gen) Forward(Tensor und, Tensor gen, (Tensor Cos, Tensor Sin) undRope, (Tensor Cos, Tensor Sin) genRope, Tensor causalMask)
    {
        var (undAttn, genAttn) = _selfAttn.Forward(_inputLayernorm.Forward(und), _inputLayernormMoeGen.Forward(gen), undRope, genRope, causalMask);
        var residualUnd = und + undAttn;
        var residualGen = gen + genAttn;
        return (residualUnd + _mlp.Forward(_postAttentionLayernorm.Forward(residualUnd)),
                residualGen + _mlpMoeGen.Forward(_postAttentionLayernormMoeGen.Forward(residualGen)));
    }
}
