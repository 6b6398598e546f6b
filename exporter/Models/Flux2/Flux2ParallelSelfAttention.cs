using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>
/// Flux2ParallelSelfAttention (the single-stream blocks, a ViT-22B parallel block): one projection to_qkv_mlp_proj
/// gives q, k, v and the MLP's 2 × mlp_hidden input; attention (per-head RMSNorm on q and k, RoPE) and SwiGLU run side
/// by side, and one projection to_out maps their concatenation back. No biases.
/// </summary>
public sealed class Flux2ParallelSelfAttention
{
    readonly int _heads, _headDim, _inner, _mlpHidden;
    readonly Linear _toQkvMlpProj, _toOut;
    readonly RmsNorm _normQ, _normK;

    public Flux2ParallelSelfAttention(Weights w, int dim, int heads, int headDim, float mlpRatio, float eps)
    {
        _heads = heads; _headDim = headDim;
        _inner = heads * headDim;
        _mlpHidden = (int)(dim * mlpRatio);
        _toQkvMlpProj = new Linear(w.Sub("to_qkv_mlp_proj"), dim, 3 * _inner + 2 * _mlpHidden, bias: false);
        _normQ = new RmsNorm(w.Sub("norm_q"), headDim, eps);
        _normK = new RmsNorm(w.Sub("norm_k"), headDim, eps);
        _toOut = new Linear(w.Sub("to_out"), _inner + _mlpHidden, dim, bias: false);
    }

    public Tensor Forward(Tensor hiddenStates, (Tensor Cos, Tensor Sin) rope)
    {
        var parts = _toQkvMlpProj.Forward(hiddenStates).Split(-1, _inner, _inner, _inner, 2L * _mlpHidden);
        var q = Flux2Rope.PerHead(_normQ, parts[0], _heads, _headDim);
        var k = Flux2Rope.PerHead(_normK, parts[1], _heads, _headDim);
        var attn = Flux2Rope.Attend(q, k, parts[2], rope, _heads, _headDim);
        var mlp = Flux2FeedForward.SwiGlu(parts[3]);
        return _toOut.Forward(Tensor.Concat(-1, attn, mlp));
    }
}
