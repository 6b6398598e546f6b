using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan;

/// <summary>WanAttention with WanAttnProcessor: q/k/v projections, RMSNorm of q and k across all heads, optional
/// RoPE, attention, and (I2V) image tokens through separate K/V projections whose attention output is added.</summary>
public sealed class WanAttention
{
    readonly int _heads, _headDim;
    readonly Linear _toQ, _toK, _toV, _toOut;
    readonly RmsNorm? _normQ, _normK, _normAddedK;
    readonly Linear? _addK, _addV;

    public WanAttention(Weights w, int dim, int heads, int headDim, float eps, string? qkNorm, int? addedKvProjDim)
    {
        _heads = heads; _headDim = headDim;
        int inner = heads * headDim;
        _toQ = new Linear(w.Sub("to_q"), dim, inner);
        _toK = new Linear(w.Sub("to_k"), dim, inner);
        _toV = new Linear(w.Sub("to_v"), dim, inner);
        _toOut = new Linear(w.Sub("to_out.0"), inner, dim);
        if (qkNorm is not null)
        {
            if (qkNorm != "rms_norm_across_heads")
                throw new Checkpoints.CheckpointException(Path.Combine(w.Origin, "config.json"), $"key 'qk_norm': \"{qkNorm}\" is not supported (Wan uses 'rms_norm_across_heads' or none)");
            _normQ = new RmsNorm(w.Sub("norm_q"), inner, eps);
            _normK = new RmsNorm(w.Sub("norm_k"), inner, eps);
        }
        if (addedKvProjDim is int added)
        {
            _addK = new Linear(w.Sub("add_k_proj"), added, inner);
            _addV = new Linear(w.Sub("add_v_proj"), added, inner);
            _normAddedK = new RmsNorm(w.Sub("norm_added_k"), inner, eps);
        }
    }

    /// <param name="context">null for self-attention; the text (and leading image) tokens for cross-attention.</param>
    /// <param name="imageTokens">number of leading image tokens in <paramref name="context"/> (I2V), else null.</param>
    public Tensor Forward(Tensor x, Tensor? context, (Tensor Cos, Tensor Sin)? rope, Dim? imageTokens = null)
    {
        Tensor? contextImage = null;
        if (_addK is not null && context is not null)
        {
            var n = imageTokens ?? throw new InvalidOperationException("image token count needed for added K/V");
            contextImage = context.Slice(1, 0L, n);
            context = context.Slice(1, n, long.MaxValue);
        }
        var kvSource = context ?? x;
        var q = _toQ.Forward(x);
        var k = _toK.Forward(kvSource);
        var v = _toV.Forward(kvSource);
        if (_normQ is not null) { q = _normQ.Forward(q); k = _normK!.Forward(k); }
        if (rope is var (cos, sin))
        {
            q = RotaryEmbedding.ApplyInterleaved(q, cos, sin, _heads, _headDim);
            k = RotaryEmbedding.ApplyInterleaved(k, cos, sin, _heads, _headDim);
        }
        var o = AttentionOp.Attention(q, k, v, _heads);
        if (contextImage is not null)
        {
            var kImg = _normAddedK!.Forward(_addK!.Forward(contextImage));
            var vImg = _addV!.Forward(contextImage);
            o = o + AttentionOp.Attention(q, kImg, vImg, _heads);
        }
        return _toOut.Forward(o);
    }
}
