using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.QwenImage;

/// <summary>
/// QwenEmbedRope (scale_rope = true, as QwenImageTransformer2DModel builds it): the head dim splits into frame,
/// height and width parts (axes_dims_rope), each with 1-D rotary frequencies θ^(−2j/d). Image tokens sit on the
/// (frame, height, width) grid with height and width positions centred (−(h − h/2) … h/2 − 1); text tokens follow
/// on all three axes at positions max(h/2, w/2) + i. Computed in the graph from the image grid and the text length,
/// so one graph serves every size. Returns (cos, sin) of shape [tokens, head_dim/2] for image and for text tokens.
/// </summary>
public sealed class QwenEmbedRope(int[] axesDim, float theta = 10000f)
{
    /// <param name="imgShapes">int64 [3]: frames, height, width of the image grid in patches.</param>
    /// <param name="txtSeqLen">text tokens.</param>
    public ((Tensor Cos, Tensor Sin) Image, (Tensor Cos, Tensor Sin) Text) Forward(Tensor imgShapes, Dim txtSeqLen)
    {
        var t = imgShapes.Tracer;
        var frame = imgShapes.Slice(0, 0, 1);
        var height = imgShapes.Slice(0, 1, 2);
        var width = imgShapes.Slice(0, 2, 3);
        var two = t.Int64(2);
        var halfH = height.Div(two);
        var halfW = width.Div(two);

        var posF = Tensor.Arange(t, Dim.Of(frame));
        var posH = Tensor.Arange(t, Dim.Of(height)) - (height - halfH);
        var posW = Tensor.Arange(t, Dim.Of(width)) - (width - halfW);
        var (cosF, sinF) = Angles(posF, axesDim[0]);
        var (cosH, sinH) = Angles(posH, axesDim[1]);
        var (cosW, sinW) = Angles(posW, axesDim[2]);

        Dim f = Dim.Of(frame), h = Dim.Of(height), w = Dim.Of(width);
        int pf = axesDim[0] / 2, ph = axesDim[1] / 2, pw = axesDim[2] / 2;
        Tensor Grid(Tensor a, Tensor b, Tensor c) => Tensor.Concat(-1,
            a.Reshape(f, 1, 1, pf).Expand(f, h, w, pf),
            b.Reshape(1, h, 1, ph).Expand(f, h, w, ph),
            c.Reshape(1, 1, w, pw).Expand(f, h, w, pw)).Reshape(-1, pf + ph + pw);

        var posText = Tensor.Arange(t, txtSeqLen) + halfH.Max(halfW);
        var text = axesDim.Select(d => Angles(posText, d)).ToArray();
        return ((Grid(cosF, cosH, cosW), Grid(sinF, sinH, sinW)),
            (Tensor.Concat(-1, text.Select(a => a.Cos).ToArray()), Tensor.Concat(-1, text.Select(a => a.Sin).ToArray())));
    }

    /// <summary>cos and sin of position × frequency, [positions, dim/2], in float32 as torch.outer + torch.polar compute them.</summary>
    (Tensor Cos, Tensor Sin) Angles(Tensor positions, int dim)
    {
        var freqs = new float[dim / 2];
        for (int j = 0; j < freqs.Length; j++) freqs[j] = 1f / MathF.Pow(theta, 2f * j / dim);
        var angle = positions.Cast(TensorDType.F32).Unsqueeze(1) * positions.Tracer.Const(freqs, 1, freqs.Length);
        return (angle.Cos(), angle.Sin());
    }
}
