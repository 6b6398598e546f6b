using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.QwenImage;

/// <summary>
/// The joint attention of a QwenImageTransformerBlock (diffusers' Attention with QwenDoubleStreamAttnProcessor2_0):
/// image tokens through to_q/to_k/to_v, text tokens through add_q_proj/add_k_proj/add_v_proj, per-head RMSNorm of
/// queries and keys (norm_q/norm_k, norm_added_q/norm_added_k), rotary embedding of both streams, one attention over
/// [text, image], then to_out.0 for the image part and to_add_out for the text part.
/// </summary>
public sealed class QwenDoubleStreamAttention
{
    readonly int _heads, _headDim;
    readonly Linear _toQ, _toK, _toV, _addQ, _addK, _addV, _toOut, _toAddOut;
    readonly RmsNorm _normQ, _normK, _normAddedQ, _normAddedK;

    public QwenDoubleStreamAttention(Weights w, int dim, int heads, int headDim, float eps)
    {
        _heads = heads; _headDim = headDim;
        int inner = heads * headDim;
        _toQ = new Linear(w.Sub("to_q"), dim, inner);
        _toK = new Linear(w.Sub("to_k"), dim, inner);
        _toV = new Linear(w.Sub("to_v"), dim, inner);
        _addQ = new Linear(w.Sub("add_q_proj"), dim, inner);
        _addK = new Linear(w.Sub("add_k_proj"), dim, inner);
        _addV = new Linear(w.Sub("add_v_proj"), dim, inner);
        _normQ = new RmsNorm(w.Sub("norm_q"), headDim, eps);
        _normK = new RmsNorm(w.Sub("norm_k"), headDim, eps);
        _normAddedQ = new RmsNorm(w.Sub("norm_added_q"), headDim, eps);
        _normAddedK = new RmsNorm(w.Sub("norm_added_k"), headDim, eps);
        _toOut = new Linear(w.Sub("to_out.0"), inner, dim);
        _toAddOut = new Linear(w.Sub("to_add_out"), inner, dim);
    }

    /// <returns>The image and text attention outputs, each [batch, its tokens, dim].</returns>
    public (Tensor Image, Tensor Text) Forward(Tensor image, Tensor text, (Tensor Cos, Tensor Sin) imageRope, (Tensor Cos, Tensor Sin) textRope)
    {
        var imgQ = Rotate(HeadNorm(_normQ, _toQ.Forward(image)), imageRope);
        var imgK = Rotate(HeadNorm(_normK, _toK.Forward(image)), imageRope);
        var imgV = _toV.Forward(image);
        var txtQ = Rotate(HeadNorm(_normAddedQ, _addQ.Forward(text)), textRope);
        var txtK = Rotate(HeadNorm(_normAddedK, _addK.Forward(text)), textRope);
        var txtV = _addV.Forward(text);

        var joint = AttentionOp.Attention(Tensor.Concat(1, txtQ, imgQ), Tensor.Concat(1, txtK, imgK), Tensor.Concat(1, txtV, imgV), _heads);
        var seqTxt = text.Size(1);
        var txtOut = joint.Slice(1, 0L, seqTxt);
        var imgOut = joint.Slice(1, seqTxt, long.MaxValue);
        return (_toOut.Forward(imgOut), _toAddOut.Forward(txtOut));
    }

    /// <summary>RMSNorm over each head's features: [batch, tokens, heads·head_dim] → [batch, tokens, heads, head_dim].</summary>
    Tensor HeadNorm(RmsNorm norm, Tensor x) => norm.Forward(x.Reshape(0, 0, _heads, _headDim));

    /// <summary>apply_rotary_emb_qwen: x as complex pairs (interleaved) times e^{iθ}; back to [batch, tokens, heads·head_dim].</summary>
    Tensor Rotate(Tensor x, (Tensor Cos, Tensor Sin) rope) => RotaryEmbedding.ApplyInterleaved(x, rope.Cos, rope.Sin, _heads, _headDim);
}
