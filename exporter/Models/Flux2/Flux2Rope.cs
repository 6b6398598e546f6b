using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>What both FLUX.2 attentions share: RMSNorm over each head, and RoPE (interleaved pairs, as diffusers'
/// apply_rotary_emb with repeat-interleaved cos/sin) on queries and keys before one scaled dot-product attention.</summary>
static class Flux2Rope
{
    /// <summary>RMSNorm over each head's head_dim values of [batch, tokens, heads·head_dim].</summary>
    public static Tensor PerHead(RmsNorm norm, Tensor x, int heads, int headDim) =>
        norm.Forward(x.Reshape(0, 0, heads, headDim)).Reshape(0, 0, heads * headDim);

    public static Tensor Attend(Tensor q, Tensor k, Tensor v, (Tensor Cos, Tensor Sin) rope, int heads, int headDim)
    {
        q = RotaryEmbedding.ApplyInterleaved(q, rope.Cos, rope.Sin, heads, headDim);
        k = RotaryEmbedding.ApplyInterleaved(k, rope.Cos, rope.Sin, heads, headDim);
        return AttentionOp.Attention(q, k, v, heads);
    }
}
