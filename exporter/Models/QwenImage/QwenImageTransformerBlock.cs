using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.QwenImage;

/// <summary>QwenImageTransformerBlock: a dual-stream (MMDiT) block. Each stream has its own modulation (img_mod,
/// txt_mod: SiLU → Linear to shift/scale/gate × 2), affine-free LayerNorms and GELU-tanh MLP; both meet in one joint
/// attention.</summary>
public sealed class QwenImageTransformerBlock
{
    const float Eps = 1e-6f;
    readonly int _dim;
    readonly Linear _imgMod, _txtMod;
    readonly QwenDoubleStreamAttention _attn;
    readonly FeedForward _imgMlp, _txtMlp;

    public QwenImageTransformerBlock(Weights w, int dim, int heads, int headDim)
    {
        _dim = dim;
        _imgMod = new Linear(w.Sub("img_mod.1"), dim, 6 * dim);
        _txtMod = new Linear(w.Sub("txt_mod.1"), dim, 6 * dim);
        _attn = new QwenDoubleStreamAttention(w.Sub("attn"), dim, heads, headDim, Eps);
        _imgMlp = new FeedForward(w.Sub("img_mlp"), dim, 4 * dim, dim, tanhGelu: true);
        _txtMlp = new FeedForward(w.Sub("txt_mlp"), dim, 4 * dim, dim, tanhGelu: true);
    }

    /// <returns>(encoder_hidden_states, hidden_states) as diffusers returns them.</returns>
    public (Tensor Text, Tensor Image) Forward(Tensor image, Tensor text, Tensor temb,
        (Tensor Cos, Tensor Sin) imageRope, (Tensor Cos, Tensor Sin) textRope)
    {
        var img = _imgMod.Forward(temb.Silu()).Chunk(6, 1).Select(m => m.Unsqueeze(1)).ToArray();
        var txt = _txtMod.Forward(temb.Silu()).Chunk(6, 1).Select(m => m.Unsqueeze(1)).ToArray();

        var imgModulated = Norm(image) * (1f + img[1]) + img[0];
        var txtModulated = Norm(text) * (1f + txt[1]) + txt[0];
        var (imgAttn, txtAttn) = _attn.Forward(imgModulated, txtModulated, imageRope, textRope);
        image = image + img[2] * imgAttn;
        text = text + txt[2] * txtAttn;

        image = image + img[5] * _imgMlp.Forward(Norm(image) * (1f + img[4]) + img[3]);
        text = text + txt[5] * _txtMlp.Forward(Norm(text) * (1f + txt[4]) + txt[3]);
        return (text, image);
    }

    Tensor Norm(Tensor x) => x.LayerNorm(null, null, Eps, _dim);
}
